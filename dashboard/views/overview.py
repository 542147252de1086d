"""Vue d'ensemble: the latest complete year at a glance (DESIGN §7)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import answers, charts, signals, tables
from dashboard.components.kpi import Kpi, kpi_row
from dashboard.i18n import (
    current_language,
    fmt_change,
    fmt_count,
    fmt_int,
    fmt_pct,
    fmt_signed_int,
    label,
    t,
)

HEADLINE_METRICS = ("personnes", "n_members", "n_communes", "demandes_non_satisfaites")
# Whether a rise is good news: more unmet requests is bad; persons served is neither.
DELTA_COLOURS = {
    "personnes": "off",
    "n_members": "normal",
    "n_communes": "normal",
    "demandes_non_satisfaites": "inverse",
}


def headline(year: int) -> None:
    figures = {row["metric"]: row for row in data.run("overview_kpis", year=year).to_dicts()}
    cards = []
    for metric in HEADLINE_METRICS:
        row = figures[metric]
        if row["previous_value"] is None:
            delta = None
        elif metric in ("n_members", "n_communes"):
            delta = t("overview.delta_count", change=fmt_signed_int(row["change"]), year=year - 1)
        else:
            delta = t("overview.delta_pct", change=fmt_change(row["change_pct"]), year=year - 1)
        cards.append(
            Kpi(
                label=t(f"common.metric.{metric}"),
                value=fmt_count(row["value"], row["suppressed"]),
                delta=delta,
                delta_color=DELTA_COLOURS[metric],
                help=t(f"overview.help.{metric}"),
            )
        )
    kpi_row(cards)
    st.caption(
        t("overview.intro_short", year=year)
        + " · "
        + charts.chart_caption(
            t("common.source.activity"), str(year), [t("overview.note_double_count")]
        )
    )


# Longer than 60 lines: the themes' small multiples: the data, the series and the
# figure of one page section, read top to bottom.
def theme_trends(year: int, years: list[int]) -> None:
    st.subheader(t("overview.themes_title"))
    trends = data.run("overview_theme_trends")
    if trends.is_empty():
        st.info(t("common.no_activity"))
        return
    lang = current_language()
    grid = (
        trends.select("theme", "label_fr", "label_en", "sort_order")
        .unique()
        .join(pl.DataFrame({"year": years}, schema={"year": pl.Int32}), how="cross")
        .join(
            trends.select("theme", "year", "personnes", "personnes_supprime"),
            on=["theme", "year"],
            how="left",
        )
        # No row: no member reported the theme that year (0); suppressed: unknown (a gap).
        .with_columns(
            pl.when(pl.col("personnes_supprime").fill_null(False))
            .then(None)
            .otherwise(pl.col("personnes").fill_null(0))
            .alias("personnes"),
            pl.col("personnes_supprime").fill_null(False),
        )
        .sort("sort_order", "year")
    )
    summary = (
        grid.group_by("theme", "label_fr", "label_en", "sort_order", maintain_order=True)
        .agg(
            pl.col("personnes").alias("trend"),
            pl.col("personnes").filter(pl.col("year") == year).first().alias("current"),
            pl.col("personnes_supprime")
            .filter(pl.col("year") == year)
            .first()
            .alias("current_suppressed"),
            pl.col("personnes").filter(pl.col("year") == year - 1).first().alias("previous"),
        )
        .with_columns(
            pl.when(pl.col("previous") > 0)
            .then(100.0 * (pl.col("current") - pl.col("previous")) / pl.col("previous"))
            .alias("change_pct")
        )
    )
    # Formatting in Python, not in Polars callbacks: those run outside Streamlit's thread.
    rows = summary.to_dicts()
    display = pl.DataFrame(
        {
            "theme": [label(row, lang) for row in rows],
            "current": [fmt_count(row["current"], row["current_suppressed"], lang) for row in rows],
            "change": [fmt_change(row["change_pct"], lang=lang) for row in rows],
            "trend": [row["trend"] for row in rows],
        }
    )
    tables.show_table(
        display,
        column_config={
            # Pinned and medium: on a phone the figures stay in view beside the names.
            "theme": st.column_config.TextColumn(
                t("overview.col_theme"), width="medium", pinned=True
            ),
            "current": st.column_config.TextColumn(t("overview.col_persons", year=year)),
            "change": st.column_config.TextColumn(t("overview.col_change", year=year - 1)),
            "trend": st.column_config.LineChartColumn(
                t("overview.col_trend", years=charts.years_text(years)), y_min=0
            ),
        },
        caption=charts.chart_caption(
            t("common.source.activity"),
            charts.years_text(years),
            [t("overview.note_themes")],
        ),
        key="overview_themes",
    )


def completeness(year: int) -> None:
    st.subheader(t("overview.completeness_title", year=year))
    members = data.run("overview_completeness", year=year)
    if members.is_empty():
        st.info(t("overview.no_members"))
        return
    n_complete = members.filter(pl.col("status") == "complet").height
    n_partial = members.filter(pl.col("status") == "partiel").height
    share = n_complete / members.height
    st.progress(
        share,
        text=t(
            "overview.completeness_summary",
            complete=fmt_int(n_complete),
            total=fmt_int(members.height),
            share=fmt_pct(100 * share, digits=0),
            partial=fmt_int(n_partial),
        ),
    )
    display = members.select(
        "name",
        pl.col("status").replace_strict(
            {s: t(f"overview.status.{s}") for s in ("complet", "partiel", "manquant")}
        ),
        pl.col("granularity")
        .replace_strict(
            {g: t(f"overview.granularity.{g}") for g in ("annee", "trimestre", "mois")},
            default=None,
        )
        .fill_null("–"),
        pl.format(
            "{} / {}", "n_periods", pl.col("n_periods_expected").cast(pl.String).fill_null("–")
        )
        .fill_null("0")
        .alias("periods"),
        pl.col("last_loaded_at").dt.date().alias("last_loaded_at"),
    )
    tables.show_table(
        display,
        column_config={
            "name": st.column_config.TextColumn(t("overview.col_member"), width="large"),
            "status": st.column_config.TextColumn(t("overview.col_status")),
            "granularity": st.column_config.TextColumn(t("overview.col_granularity")),
            "periods": st.column_config.TextColumn(t("overview.col_periods")),
            "last_loaded_at": st.column_config.DateColumn(
                t("overview.col_loaded"), format="DD.MM.YYYY"
            ),
        },
        caption=t("overview.completeness_note"),
        key="overview_completeness",
    )


def signals_slot() -> st.delta_generator.DeltaGenerator:
    """Where « Ce qui a changé ce trimestre » (the signals of DESIGN §5) goes: right under the
    headline figures, above the fold."""
    return st.container(key="overview_signals")


info = data.db_info()
title_row = st.columns([3, 1], vertical_alignment="bottom")
title_row[0].title(t("overview.title"))
if info.latest_complete_year is None:
    st.info(t("common.no_activity"))
    st.stop()

selected_year = state.select(
    "annee",
    list(reversed(info.years)),
    default=info.latest_complete_year,
    label=t("overview.year"),
    help=t("overview.year_help"),
    container=title_row[1],
)
# Answers first (issue #17): the year's figures, what changed, where needs are least met, the
# latest field alerts — above the fold at 1440 × 900; the detail tables follow.
headline(selected_year)
with signals_slot():
    signals.changed_this_quarter()
answers.show(selected_year, info.version or "")
theme_trends(selected_year, info.years)
completeness(selected_year)
