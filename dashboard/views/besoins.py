"""Besoins et lacunes: where needs are not met, commune by commune (DESIGN §5, §7).

The map shows one measure for a theme and a year; beside it, the communes below the funnel plot's
limits adjusted for overdispersion (published gap analysis, etl/analysis); under it, the funnel plot.
Clicking a commune, on the map or the funnel plot, opens its brief (?commune=<ofs>).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import (
    besoins_map,
    charts,
    funnel_plot,
    needs,
    needs_text,
    tables,
    takeaway,
)
from dashboard.components import map as commune_map
from dashboard.i18n import DEFAULT_LANGUAGE, current_language, fmt_decimal, fmt_int, label, t

FICHE_PAGE = Path(__file__).with_name("fiche.py")
MEASURES = ("gap", "rate", "unmet", "indicator")
DEFAULT_THEME = "alimentation"
DEFAULT_INDICATOR = "social_assistance_rate_pct"
GAP_CAP = 4.0  # ratios are drawn on a log2 scale between 1/4 and 4
GAP_TICKS = (0.25, 0.5, 1.0, 2.0, 4.0)
UNDER_SERVED_HEIGHT = 420
MAP_HEIGHT = 600  # at least 600 px: the flagship map, above the fold at 1440 × 900
NO_COMMUNE = 0  # the neighbours filter's « every commune »
# URL keys renamed so that each means one thing on every page (docs/ARCHITECTURE.md, « Naming »):
# `mesure` is count or rate on Tendances; what the map shows is a `valeur`, as on Couverture.
RENAMED_KEYS = {"mesure": "valeur"}


def open_brief(ofs_number: int) -> None:
    """Go to the commune's brief, keeping the language in the URL."""
    params = {"commune": str(ofs_number)}
    lang = current_language()
    if lang != DEFAULT_LANGUAGE:
        params["lang"] = lang
    st.switch_page(FICHE_PAGE, query_params=params)


# --- what the map draws -----------------------------------------------------------------------------


def _log_ratio(ratio: float | None) -> float | None:
    if ratio is None:
        return None
    return math.log2(min(max(ratio, 1 / GAP_CAP), GAP_CAP))


def activity_map_values(gaps: pl.DataFrame, measure: str, year: int) -> commune_map.MapValues:
    rows = gaps.to_dicts()
    hover = [besoins_map.activity_tooltip(row, year) for row in rows]
    emphasis = [bool(row["under_served"]) for row in rows]
    if measure == "gap":
        return commune_map.MapValues(
            ofs_numbers=[row["ofs_number"] for row in rows],
            values=[_log_ratio(row["gap_ratio"]) for row in rows],
            hover=hover,
            colour_title=t("needs.gap_ratio"),
            colorscale="PuOr",  # orange below 1 (under-served), purple above: colour-blind safe
            zmid=0.0,
            zmin=-math.log2(GAP_CAP),
            zmax=math.log2(GAP_CAP),
            tick_values=[math.log2(v) for v in GAP_TICKS],
            tick_text=["¼", "½", "1", "2", "4"],
            emphasis=emphasis,
        )
    column = "rate" if measure == "rate" else "unmet_rate"
    values = [row[column] for row in rows]
    present = [value for value in values if value is not None]
    return commune_map.MapValues(
        ofs_numbers=[row["ofs_number"] for row in rows],
        values=values,
        hover=hover,
        colour_title=t("needs.per_thousand"),
        colorscale=charts.SEQUENTIAL,
        # Rates start at 0: both ends are set, or Plotly picks its own range.
        zmin=0.0 if present else None,
        zmax=max(present) if present and max(present) > 0 else None,
        emphasis=emphasis,
    )


def indicator_map_values(
    profile: pl.DataFrame, code: str, names: dict[int, str]
) -> commune_map.MapValues:
    rows = {
        row["ofs_number"]: row
        for row in profile.filter(pl.col("indicator_code") == code).to_dicts()
    }
    ofs_numbers = sorted(names)
    unit = next(iter(rows.values()))[f"unit_{current_language()}"] if rows else ""
    return commune_map.MapValues(
        ofs_numbers=ofs_numbers,
        values=[rows[ofs]["value"] if ofs in rows else None for ofs in ofs_numbers],
        hover=[
            besoins_map.indicator_tooltip(rows[ofs], names[ofs])
            if ofs in rows
            else f"<b>{names[ofs]}</b><br>{t('needs.no_data')}"
            for ofs in ofs_numbers
        ],
        colour_title=unit,
        colorscale=charts.SEQUENTIAL,
    )


# --- tables -----------------------------------------------------------------------------------------


def under_served_table(gaps: pl.DataFrame, year: int) -> None:
    """The under-served communes, beyond the 99.8 % limit first, then by increasing ratio: three
    narrow columns that fit beside the map (the counts are in the map's table view and the CSV)."""
    st.markdown(f"##### {t('besoins.under_title')}")
    ranked = needs.under_served(gaps)
    if ranked.is_empty():
        st.info(t("besoins.under_none", year=year))
        return
    rows = ranked.to_dicts()
    display = pl.DataFrame(
        {
            "commune": [
                row["name"] + (needs_text.ESTIMATED_MARK if row["estimate_matters"] else "")
                for row in rows
            ],
            "level": [t(f"besoins.limit_crossed.{row['gap_flag']}") for row in rows],
            "ratio": [besoins_map.ratio_text(row) for row in rows],
        }
    )
    tables.show_table(
        display,
        column_config={
            "commune": st.column_config.TextColumn(t("besoins.col_commune"), pinned=True),
            "level": st.column_config.TextColumn(t("besoins.col_limit"), width=56),
            "ratio": st.column_config.TextColumn(t("besoins.col_ratio_ci")),
        },
        caption=_caption_with_mark(t("besoins.under_caption"), ranked),
        key="besoins_under_served",
        height=min(38 + 35 * display.height, UNDER_SERVED_HEIGHT),  # scrolls when long
    )


def _caption_with_mark(caption: str, rows: pl.DataFrame) -> str:
    """The « * » explained once, and only when a row carries it."""
    if rows["estimate_matters"].any():
        return f"{caption} · {t('needs.estimated_mark_matters')}"
    return caption


def all_communes_table(gaps: pl.DataFrame) -> None:
    rows = gaps.sort("name").to_dicts()
    display = pl.DataFrame(
        {
            "commune": [
                row["name"] + (needs_text.ESTIMATED_MARK if row["estimate_matters"] else "")
                for row in rows
            ],
            "observed": [needs_text.count(row["persons"], row["suppressed"]) for row in rows],
            "rate": [needs_text.rate(row["rate"]) for row in rows],
            "rate_ci": [needs_text.ci(row["rate_lower"], row["rate_upper"]) for row in rows],
            "vs_canton": [needs_text.comparison(row["rate_vs_canton"], short=True) for row in rows],
            "index": [fmt_decimal(row["needs_index"], 2) for row in rows],
            "expected": [fmt_decimal(row["expected"]) for row in rows],
            "ratio": [fmt_decimal(row["gap_ratio"], 2) for row in rows],
            "ratio_ci": [needs_text.ci(row["gap_lower"], row["gap_upper"], 2) for row in rows],
            "flag": [t(f"needs.flag_short.{row['gap_flag']}") for row in rows],
            "unmet": [fmt_int(row["unmet_requests"]) for row in rows],
        }
    )
    tables.show_table(
        display,
        column_config={
            "commune": st.column_config.TextColumn(t("besoins.col_commune")),
            "observed": st.column_config.TextColumn(t("besoins.col_observed")),
            "rate": st.column_config.TextColumn(t("besoins.col_rate")),
            "rate_ci": st.column_config.TextColumn(t("besoins.col_ci")),
            "vs_canton": st.column_config.TextColumn(t("besoins.col_vs_canton")),
            "index": st.column_config.TextColumn(t("besoins.col_index")),
            "expected": st.column_config.TextColumn(t("besoins.col_expected")),
            "ratio": st.column_config.TextColumn(t("besoins.col_ratio")),
            "ratio_ci": st.column_config.TextColumn(t("besoins.col_ci")),
            "flag": st.column_config.TextColumn(t("besoins.col_level")),
            "unmet": st.column_config.TextColumn(t("besoins.col_unmet")),
        },
        caption=_caption_with_mark(t("besoins.all_caption"), gaps),
        key="besoins_all_communes",
    )


def needs_index_note(theme: str, theme_name: str, year: int) -> str:
    """Which indicators (their years, and the carried, later or bounded values) the index rests on."""
    if theme == needs.ALL_THEMES:
        return t("besoins.index_none")
    basis = needs.needs_basis(theme, year)
    if basis.is_empty():
        return t("besoins.index_none")
    lang = current_language()
    separator = " ; " if lang == "fr" else "; "  # French puts a space before the semicolon
    items = []
    for row in basis.to_dicts():
        flags = []
        if row["direction"] < 0:
            flags.append(t("besoins.inverse"))
        if row["any_year_inferred"]:
            flags.append(t("needs.year_inferred"))
        for column, key in (
            ("n_carried", "carried"),
            ("n_later", "later"),
            ("n_bounded", "bounded"),
        ):
            if row[column]:
                flags.append(t(f"besoins.basis_{key}", n=row[column]))
        years = charts.years_text([row["first_value_year"], row["last_value_year"]])
        items.append(
            t(
                "besoins.index_item",
                label=label(row, lang),
                year=years,
                flags="".join(f"{separator}{flag}" for flag in flags),
            )
        )
    return t("besoins.index_basis", theme=theme_name, year=year, indicators=", ".join(items))


def funnel_section(
    gaps: pl.DataFrame, theme: str, theme_name: str, year: int, highlight: list[int]
) -> None:
    """The funnel plot under the map: ratio against expected, adjusted limits, clickable; through
    the take-away component (summary sentence as its text alternative, CSV, citation)."""
    dispersion = {row["comparison"]: row for row in needs.load_dispersion(theme, year).to_dicts()}
    estimate = dispersion.get("besoins")
    title = t("besoins.funnel_title", theme=theme_name, year=year)
    if estimate is None or estimate["tau2"] is None:
        st.markdown(f"#### {title}", help=t("besoins.funnel_help"))
        st.info(t("besoins.funnel_none"))
        return
    notes = [
        t(
            "besoins.funnel_note",
            n=estimate["n_communes"],
            phi=fmt_decimal(estimate["phi"], 1),
            tau=fmt_decimal(estimate["tau2"] ** 0.5, 3),
        ),
        t("needs.double_count"),
    ]
    spec = takeaway.Takeaway(
        title=title,
        summary=f"{besoins_map.funnel_summary(gaps)} {t('besoins.funnel_hint')}",
        data=besoins_map.activity_data(gaps),
        source=t("needs.source_activity"),
        years=str(year),
        notes=notes,
    )
    clicked = takeaway.show(
        funnel_plot.figure(gaps, estimate["tau2"], highlight),
        spec,
        key="besoins_funnel",
        # No chart / table switch: its table would be the map's (same communes, same ratios).
        draw=lambda figure: funnel_plot.show(
            figure, key="besoins_funnel", alt=f"{spec.title}. {spec.summary}"
        ),
    )
    if clicked is not None:
        open_brief(clicked)


# --- page -------------------------------------------------------------------------------------------


state.follow_renamed(RENAMED_KEYS)
info = data.db_info()
st.title(t("besoins.title"))
if info.latest_complete_year is None:
    st.info(t("common.no_activity"))
    st.stop()
st.markdown(t("besoins.intro"))

theme_rows = data.themes().to_dicts()
indicators = data.run("needs_indicators")
indicator_labels = {
    row["indicator_code"]: label(row)
    for row in indicators.unique("indicator_code").sort("indicator_code").to_dicts()
}
# The map on the left, as tall as the screen allows (above the fold at 1440 × 900); its filters and
# the list of under-served communes on the right.
map_column, side_column = st.columns([1.9, 1], gap="medium")
with side_column:
    filters = st.columns([2, 1])
    theme = state.select(
        "theme",
        [needs.ALL_THEMES, *[row["code"] for row in theme_rows]],
        default=DEFAULT_THEME,
        label=t("besoins.theme"),
        format_func=lambda code: needs_text.theme_label(code, theme_rows),
        container=filters[0],
    )
    year = state.select(
        "annee",
        list(reversed(info.years)),
        default=info.latest_complete_year,
        label=t("besoins.year"),
        container=filters[1],
    )
    # Radio buttons, not a drop-down: the measures' names are long and must be read whole.
    measure = state.select(
        "valeur",
        MEASURES,
        default="gap",
        label=t("besoins.measure"),
        format_func=lambda code: t(f"needs.measure.{code}"),
        widget="radio",
        horizontal=False,
    )
    indicator = None
    if measure == "indicator":
        indicator = state.select(
            "indicateur",
            list(indicator_labels),
            default=DEFAULT_INDICATOR,
            label=t("besoins.indicator"),
            format_func=lambda code: indicator_labels.get(code, code),
        )
    commune_names = dict(zip(data.communes()["ofs_number"], data.communes()["name"], strict=True))
    around = state.select(
        "voisins",
        [NO_COMMUNE, *commune_names],
        default=NO_COMMUNE,
        label=t("besoins.neighbours_filter"),
        format_func=lambda ofs: (
            t("besoins.neighbours_all") if ofs == NO_COMMUNE else commune_names[ofs]
        ),
        help=t("besoins.neighbours_help"),
    )
    summary_box = st.container()

theme_name = needs_text.theme_label(theme, theme_rows)
gaps = needs.load_commune_gaps(theme, year)
group: list[int] = []
if around != NO_COMMUNE:
    group = [around, *needs.neighbours_of(around, year)["neighbour_ofs"].to_list()]
shown = gaps.filter(pl.col("ofs_number").is_in(group)) if group else gaps
has_activity = gaps["canton_rate"].drop_nulls().len() > 0
shapes = commune_map.geometry()

with map_column:
    if measure == "indicator":
        profile = needs.load_indicator_profile()
        values = indicator_map_values(profile, indicator, shapes.names)
        measure_name = indicator_labels.get(indicator, indicator)
        years = charts.years_text(
            profile.filter(pl.col("indicator_code") == indicator)["value_year"].to_list()
        )
        source, notes = t("needs.source_indicators"), []
        summary = besoins_map.indicator_summary(profile, indicator, shapes.names)
        map_data = besoins_map.indicator_data(profile, indicator, shapes.names)

        def ranked_table() -> None:
            besoins_map.indicator_table(profile, indicator, shapes.names)

    else:
        values = activity_map_values(gaps, measure, year)
        if group:  # the commune and its neighbours outlined instead of the under-served
            values = replace(values, emphasis=[ofs in group for ofs in values.ofs_numbers])
        measure_name = t(f"needs.measure.{measure}")
        years, source = str(year), t("needs.source_activity")
        outline = t("besoins.outline_neighbours") if group else t("besoins.outline_note")
        notes = [outline, t("needs.double_count")]
        if measure == "gap":
            notes.insert(0, t("besoins.gap_scale_note"))
        summary = besoins_map.activity_summary(gaps, measure)
        map_data = besoins_map.activity_data(gaps)

        def ranked_table() -> None:
            besoins_map.activity_table(gaps, measure)

    if any(value is None for value in values.values):
        notes.append(t("besoins.grey_note"))
    if measure != "indicator" and not has_activity:
        st.info(t("besoins.no_activity_theme", year=year))
    spec = takeaway.Takeaway(
        title=t("besoins.map_title", measure=measure_name, theme=theme_name, year=year),
        summary=f"{summary} {t('besoins.map_hint')}",
        data=map_data,
        source=source,
        years=years,
        notes=notes,
    )
    fig = commune_map.choropleth(values, shapes, lake_label=t("needs.lake"), height=MAP_HEIGHT)
    clicked = takeaway.show(
        fig,
        spec,
        key="besoins_map",
        view_param="vue",
        draw=lambda figure: commune_map.show_map(
            figure, key="besoins_map", alt=f"{spec.title}. {spec.summary}"
        ),
        table=ranked_table,
        summary_container=summary_box,
    )
    if clicked is not None:
        open_brief(clicked)

with side_column:
    if group:
        st.markdown(
            t(
                "besoins.neighbours_of",
                name=commune_names[around],
                names=", ".join(commune_names[ofs] for ofs in group[1:]),
            )
        )
    if has_activity:
        under_served_table(shown, year)
    st.markdown(needs_index_note(theme, theme_name, year))
    with st.expander(t("besoins.method_title")):
        st.markdown(t("besoins.method"))

# Under the map, in its column: the side column (filters, ranking, index note) is as tall as both.
if has_activity and measure != "indicator":
    with map_column:
        funnel_section(shown, theme, theme_name, year, group[:1])

with st.expander(t("besoins.all_communes")):
    all_communes_table(shown)
