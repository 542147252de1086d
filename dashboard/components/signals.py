"""Signals on the pages (DESIGN §5): « Ce qui a changé » on Vue d'ensemble, the commune brief's
section, the Signaux page's cards with their field observations, and the agreement line under a
field alert on Remontées du terrain. Everything reads the public file (queries/signals_*.sql)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import polars as pl
import streamlit as st
from streamlit.errors import StreamlitAPIException

from dashboard import data
from dashboard.components import charts, observations, signals_charts
from dashboard.components import signals_text as words
from dashboard.components.directory import md_escape
from dashboard.i18n import current_language, fmt_decimal, t
from etl.analysis.signals import CANTON, RULE, SIGNAL, STORED_QUARTERS

SIGNALS_PAGE = "views/signaux.py"
OVERVIEW_CARDS = 6
STATUS_BADGES = {SIGNAL: "red", "attendu": "green"}


# --- data -----------------------------------------------------------------------------------------


def quarters() -> pl.DataFrame:
    """year, quarter, period, n_assessed, n_signals, n_series: the assessed quarters, newest first."""
    return data.run("signals_quarters")


def assessments(
    period: int | None, themes: Iterable[str] = (), lieux: Iterable[str] = (), signals_only=False
) -> pl.DataFrame:
    return data.run(
        "signals_list",
        period=period,
        themes=list(themes),
        lieux=list(lieux),
        statuses=[SIGNAL] if signals_only else [],
    )


def history(row: dict) -> pl.DataFrame:
    return data.run(
        "trends_quarterly",
        metric="personnes",
        themes=[row["theme"]],
        lieux=[row["lieu"]],
        categories=["*"],
    )


# --- pieces ----------------------------------------------------------------------------------------


def link(label: str, page: str, params: dict[str, str], icon: str) -> None:
    # Outside the app's navigation (a test, an export) there is no page to link to.
    with contextlib.suppress(StreamlitAPIException):
        st.page_link(page, label=label, icon=icon, query_params=params)


def status_badge(row: dict) -> str:
    colour = STATUS_BADGES.get(row["status"], "gray")
    return f":{colour}-badge[{md_escape(words.status_text(row))}]"


def signal_card(
    row: dict, field: pl.DataFrame, *, key: str, show_history: bool = True, links: bool = True
) -> None:
    """One signal: what, where, the numbers, the year before, and the field beside it."""
    lang = current_language()
    with st.container(border=True):
        text, chart = st.columns([3, 2]) if show_history else (st.container(), None)
        with text:
            st.markdown(f"{status_badge(row)} **{md_escape(words.title(row, lang))}**")
            st.markdown(md_escape(words.numbers(row, lang)))
            st.caption(words.year_before(row, lang))
            field_notes(row, field, lang)
            if links and row["lieu"] != CANTON:
                link(
                    t("signals.brief_link"),
                    "views/fiche.py",
                    {"commune": str(row["ofs_number"])},
                    ":material/description:",
                )
        if chart is not None:
            with chart:
                charts.show_chart(
                    signals_charts.history_figure(history(row), row, lang, height=260),
                    source=t("signals.source"),
                    years=words.quarter_label(row["year"], row["quarter"], lang),
                    notes=[t("signals.history_note")],
                    key=f"{key}_history",
                )


def field_notes(row: dict, field: pl.DataFrame, lang: str) -> None:
    """The field observations beside a signal (same theme, place and quarter), or a line saying
    there are none."""
    notes = words.field_for(row, field.to_dicts())
    if not notes:
        st.caption(words.field_summary(row, lang))
        return
    st.markdown(f"**{t('signals.field_title')}**")
    for note in notes:
        observations.observation_card(note, lang, show_commune=row["lieu"] == CANTON)


# --- Vue d'ensemble ----------------------------------------------------------------------------------


def changed_this_quarter() -> None:
    """« Ce qui a changé ce trimestre »: the latest quarter's signals, strongest first."""
    known = quarters()
    if known.is_empty():
        return
    latest = known.row(0, named=True)
    quarter = words.quarter_label(latest["year"], latest["quarter"])
    st.subheader(t("signals.overview_title", quarter=quarter))
    raised = assessments(latest["period"], signals_only=True)
    if raised.is_empty():
        st.info(t("signals.overview_none", quarter=quarter, assessed=latest["n_assessed"]))
        return
    st.caption(t("signals.overview_intro"))
    field = data.run("signals_field_observations", period=latest["period"])
    columns = st.columns(2)
    for index, row in enumerate(raised.head(OVERVIEW_CARDS).iter_rows(named=True)):
        with columns[index % 2]:
            signal_card(row, field, key=f"overview_signal_{index}", show_history=False)
    link(
        t("signals.overview_link", quarter=quarter, n=raised.height),
        SIGNALS_PAGE,
        {"trimestre": words.period_code(latest["period"])},
        ":material/campaign:",
    )


# --- Fiche communale -----------------------------------------------------------------------------------


def commune_signals(ofs_number: int) -> None:
    """The latest quarter's assessment of each theme of the commune, signals first."""
    known = quarters()
    if known.is_empty():
        return
    latest = known.row(0, named=True)
    st.header(
        t("signals.fiche_title", quarter=words.quarter_label(latest["year"], latest["quarter"])),
        divider="gray",
    )
    rows = assessments(latest["period"], lieux=[str(ofs_number)])
    if rows.is_empty():
        st.caption(t("signals.fiche_none"))
        return
    st.caption(t("signals.fiche_intro"))
    field = data.run("signals_field_observations", period=latest["period"])
    for index, row in enumerate(rows.filter(pl.col("status") == SIGNAL).iter_rows(named=True)):
        signal_card(row, field, key=f"fiche_signal_{index}", links=False)
    others = rows.filter(pl.col("status") != SIGNAL)
    if not others.is_empty():
        st.table(assessment_rows(others), hide_index=True)
    link(
        t("signals.all_link"),
        SIGNALS_PAGE,
        {"trimestre": words.period_code(latest["period"]), "lieu": str(ofs_number)},
        ":material/campaign:",
    )


def assessment_rows(rows: pl.DataFrame, *, with_place: bool = False) -> pl.DataFrame:
    """The assessments as display text (static tables print whole; the grid sorts)."""
    lang = current_language()
    out = []
    for row in rows.iter_rows(named=True):
        shown = {t("signals.col_theme"): words.label(row, lang)}
        if with_place:
            shown[t("signals.col_place")] = words.place(row, lang)
        shown[t("signals.col_status")] = words.status_text(row, lang)
        shown[t("signals.col_observed")] = words.count_text(row, lang)
        shown[t("signals.col_expected")] = words.expected_text(row, lang)
        shown[t("signals.col_limit")] = words.limit_text(row, lang)
        shown[t("signals.col_change")] = words.change(row, lang)
        out.append(shown)
    return pl.DataFrame(out)


# --- Remontées du terrain -----------------------------------------------------------------------------


def assessment_lookup() -> tuple[dict[tuple, dict], int | None]:
    """Every stored assessment by (period, theme, lieu), and the latest published quarter."""
    rows = assessments(None)
    lookup = {(row["period"], row["theme"], row["lieu"]): row for row in rows.iter_rows(named=True)}
    known = quarters()
    return lookup, None if known.is_empty() else int(known["period"].max())


# --- Méthodologie ----------------------------------------------------------------------------------

FORMULAS = (
    r"\log \mu_t = \alpha + \beta\,t + \gamma_{q(t)} \qquad \operatorname{Var}(Y_t) = \phi\,\mu_t",
    r"s_t = \frac{\tfrac{3}{2}\left(y_t^{2/3} - \hat\mu_t^{2/3}\right)}"
    r"{\hat\mu_t^{1/6}\sqrt{\hat\phi\,(1 - h_t)}} \qquad w_t \propto s_t^{-2}\ \text{si}\ s_t > %s",
    r"U = \left(\hat\mu_0^{2/3} + q_{1-\alpha;\,\nu}\,"
    r"\sqrt{\tfrac{4}{9}\,\hat\mu_0^{1/3}\left(\hat\phi + \hat\mu_0\,\widehat{\operatorname{Var}}"
    r"(\hat\eta_0)\right)}\right)^{3/2}",
)


def methodology() -> None:
    """The method of the signals, with the rule's settings as the code holds them."""
    rule = RULE
    st.header(t("signals.method_title"))
    st.markdown(
        t(
            "signals.method_text",
            years=rule.baseline_quarters // 4,
            history=rule.min_history,
            quarters=STORED_QUARTERS,
        )
    )
    st.latex(FORMULAS[0])
    st.latex(FORMULAS[1] % str(rule.reweight_above).replace(".", "{,}"))
    st.latex(FORMULAS[2])
    st.markdown(
        t(
            "signals.method_rule",
            level=fmt_decimal(100 * (1 - rule.alpha), 0),
            trend=fmt_decimal(100 * rule.trend_level, 0),
            minimum=rule.min_count,
        )
    )
