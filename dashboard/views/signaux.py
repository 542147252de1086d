"""Signaux: the quarter's unusual rises, filtered by theme and place, each beside the field
observations of the same quarter and place (DESIGN §5). The series are each commune all themes
together (theme '*') and each theme in the canton (GE): a commune's themes are not published by
quarter. Filters live in the URL: ?trimestre=2024-T4&theme=*&lieu=6631&afficher=tous."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import signals as sig
from dashboard.components import signals_text as words
from dashboard.i18n import current_language, label, t
from etl.analysis.signals import CANTON, RULE, SIGNAL
from etl.vocabulary import ALL

SHOW = ("signaux", "tous")


def filters(known: pl.DataFrame) -> dict:
    lang = current_language()
    themes, communes = data.themes(), data.communes()
    # A commune's series is all themes together ('*'); a theme's series is the canton's.
    theme_names = {ALL: t("common.all_themes")} | {
        row["code"]: label(row, lang) for row in themes.to_dicts()
    }
    places = {CANTON: t("signals.canton")} | {
        str(ofs): name for ofs, name in zip(communes["ofs_number"], communes["name"], strict=True)
    }
    periods = known["period"].to_list()
    st.subheader(t("signals.filters"))
    with st.container(border=True):
        first, second = st.columns([1, 2]), st.columns([2, 1])
        code = state.select(
            "trimestre",
            [words.period_code(p) for p in periods],
            default=words.period_code(periods[0]),
            label=t("signals.filter_quarter"),
            format_func=lambda c: words.quarter_label(*words.parse_quarter_code(c), lang),
            container=first[0],
        )
        chosen_themes = state.multiselect(
            "theme",
            list(theme_names),
            label=t("signals.filter_theme"),
            format_func=lambda c: theme_names.get(c, c),
            placeholder=t("signals.placeholder_all"),
            container=first[1],
        )
        chosen_places = state.multiselect(
            "lieu",
            list(places),
            label=t("signals.filter_place"),
            format_func=lambda c: places.get(c, c),
            placeholder=t("signals.placeholder_all"),
            container=second[0],
        )
        show = state.select(
            "afficher",
            SHOW,
            default=SHOW[0],
            label=t("signals.filter_show"),
            format_func=lambda c: t("signals.show_signals" if c == SHOW[0] else "signals.show_all"),
            widget="radio",
            container=second[1],
        )
    year, quarter = words.parse_quarter_code(code)
    return {
        "period": words.period_of(year, quarter),
        "themes": chosen_themes,
        "lieux": chosen_places,
        "all": show == SHOW[1],
    }


def download(rows: pl.DataFrame, quarter: str) -> None:
    """The rows as the page shows them: counts empty where withheld, French column codes."""
    frame = rows.select(
        pl.format("{}-T{}", "year", "quarter").alias("trimestre"),
        "theme",
        pl.when(pl.col("theme") == ALL)
        .then(pl.lit(t("common.all_themes", lang="fr")))
        .otherwise(pl.col("label_fr"))
        .alias("theme_libelle"),
        "lieu",
        pl.col("commune_name").alias("commune"),
        pl.col("status").alias("evaluation"),
        pl.col("observed").alias("personnes"),
        pl.col("expected").round(1).alias("attendu"),
        pl.col("upper_limit").round(1).alias("limite_superieure"),
        pl.col("n_periods").alias("trimestres_historique"),
        pl.col("n_field_alerts").alias("alertes_terrain"),
        pl.col("n_field_vigilance").alias("vigilances_terrain"),
    )
    st.download_button(
        t("signals.download"),
        frame.write_csv().encode("utf-8-sig"),
        file_name=f"signaux-{quarter}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="signals_csv",
    )


st.title(t("signals.title"))
st.markdown(t("signals.intro"))
known = sig.quarters()
if known.is_empty():
    st.info(t("signals.none_quarter", required=RULE.min_history))
    st.stop()

chosen = filters(known)
lang = current_language()
quarter_row = known.filter(pl.col("period") == chosen["period"]).row(0, named=True)
quarter = words.period_label(chosen["period"], lang)
selected = sig.assessments(chosen["period"], chosen["themes"], chosen["lieux"])
raised = selected.filter(pl.col("status") == SIGNAL)
rows = selected if chosen["all"] else raised
st.markdown(
    t(
        "signals.count",
        n=quarter_row["n_signals"],
        quarter=quarter,
        assessed=quarter_row["n_assessed"],
    )
)
if chosen["themes"] or chosen["lieux"]:
    st.caption(t("signals.count_filtered", n=selected.height))
if raised.is_empty():
    st.info(t("signals.none", quarter=quarter))
field = data.run("signals_field_observations", period=chosen["period"])
# Filters narrowed to one series (a commune, or a theme in the canton): its card and history are
# shown whatever its assessment, which is what a reader coming from the commune brief looks for.
cards = selected if selected.height == 1 else raised
if raised.is_empty() and not cards.is_empty():
    st.caption(t("signals.one_series"))
for index, row in enumerate(cards.iter_rows(named=True)):
    sig.signal_card(row, field, key=f"signal_{index}")
if chosen["all"] and not rows.is_empty():
    st.subheader(t("signals.table_title", quarter=quarter))
    st.dataframe(sig.assessment_rows(rows, with_place=True), hide_index=True, key="signals_table")
if not rows.is_empty():
    download(rows, words.period_code(chosen["period"]))
st.caption(t("signals.method_note"))
st.caption(t("signals.feed"))
