"""Besoins et lacunes: where needs are not met, commune by commune (DESIGN §5, §7).

The map shows one measure for a theme and a year; beside it, the communes significantly
under-served. Clicking a commune opens its brief (?commune=<ofs>).
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import besoins_map, charts, needs, needs_text, tables, takeaway
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


def open_brief(ofs_number: int) -> None:
    """Go to the commune's brief, keeping the language in the URL."""
    params = {"commune": str(ofs_number)}
    lang = current_language()
    if lang != DEFAULT_LANGUAGE:
        params["lang"] = lang
    st.switch_page(FICHE_PAGE, query_params=params)


# --- tooltips -------------------------------------------------------------------------------------


def _population_line(row: dict, year: int) -> str:
    text = t("besoins.tip_population", year=year, population=fmt_int(row["population"]))
    if row["population_estimated"]:
        text += f" ({t('needs.population_estimated')})"
    return text


def activity_tooltip(row: dict, year: int) -> str:
    """Name, persons served, rate with CI against the canton, gap, unmet requests, population."""
    lines = [f"<b>{row['name']}</b>"]
    persons = needs_text.count(row["persons"], row["suppressed"])
    lines.append(t("besoins.tip_persons", count=persons))
    if row["suppressed"]:
        lines.append(t("needs.suppressed"))
    elif row["rate"] is not None:
        estimated = row["population_estimated"]
        lines.append(
            t(
                "besoins.tip_rate",
                rate=needs_text.rate(row["rate"], estimated),
                ci=needs_text.ci(row["rate_lower"], row["rate_upper"]),
            )
        )
        lines.append(
            t(
                "besoins.tip_canton",
                rate=fmt_decimal(row["canton_rate"]),
                comparison=needs_text.comparison(row["rate_vs_canton"], short=True),
            )
        )
    if row["expected"] is not None and not row["suppressed"]:
        lines.append(
            t(
                "besoins.tip_expected",
                expected=fmt_decimal(row["expected"]),
                index=fmt_decimal(row["needs_index"], 2),
            )
        )
        lines.append(
            t(
                "besoins.tip_gap",
                ratio=fmt_decimal(row["gap_ratio"], 2),
                ci=needs_text.ci(row["gap_lower"], row["gap_upper"], 2),
            )
        )
        verdict = (
            "under_served"
            if row["under_served"]
            else ("over_served" if row["over_served"] else "within")
        )
        lines.append(t(f"needs.gap.{verdict}"))
    if row["unmet_requests"] is not None:
        lines.append(
            t(
                "besoins.tip_unmet",
                count=fmt_int(row["unmet_requests"]),
                rate=needs_text.rate(row["unmet_rate"], row["population_estimated"]),
            )
        )
    lines.append(_population_line(row, year))
    return "<br>".join(lines)


def indicator_tooltip(row: dict, name: str) -> str:
    lang = current_language()
    value = needs_text.indicator_value(row["value"], row["indicator_code"])
    lines = [
        f"<b>{name}</b>",
        t("besoins.tip_indicator", label=label(row, lang), year=row["value_year"], value=value),
    ]
    if row["canton_value"] is not None:
        lines.append(
            t(
                "besoins.tip_indicator_ci",
                ci=needs_text.ci(row["lower"], row["upper"]),
                canton=needs_text.indicator_value(row["canton_value"], row["indicator_code"]),
                comparison=needs_text.comparison(row["judgement"], short=True),
            )
        )
    lines += needs_text.indicator_flags(row["year_inferred"], row["carried_forward"])
    return "<br>".join(lines)


# --- what the map draws -----------------------------------------------------------------------------


def _log_ratio(ratio: float | None) -> float | None:
    if ratio is None:
        return None
    return math.log2(min(max(ratio, 1 / GAP_CAP), GAP_CAP))


def activity_map_values(gaps: pl.DataFrame, measure: str, year: int) -> commune_map.MapValues:
    rows = gaps.to_dicts()
    hover = [activity_tooltip(row, year) for row in rows]
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
            indicator_tooltip(rows[ofs], names[ofs])
            if ofs in rows
            else f"<b>{names[ofs]}</b><br>{t('needs.no_data')}"
            for ofs in ofs_numbers
        ],
        colour_title=unit,
        colorscale=charts.SEQUENTIAL,
    )


# --- tables -----------------------------------------------------------------------------------------


def under_served_table(gaps: pl.DataFrame, year: int) -> None:
    """The under-served communes, the clearest first: two columns that fit beside the map (the
    counts are in the map's table view and in the table of the 45 communes)."""
    st.markdown(f"##### {t('besoins.under_title')}")
    ranked = needs.under_served(gaps)
    if ranked.is_empty():
        st.info(t("besoins.under_none", year=year))
        return
    rows = ranked.to_dicts()
    display = pl.DataFrame(
        {
            "commune": [
                row["name"] + (needs_text.ESTIMATED_MARK if row["population_estimated"] else "")
                for row in rows
            ],
            "served": [
                f"{fmt_int(row['persons'])} / {fmt_decimal(row['expected'])}" for row in rows
            ],
            "ratio": [besoins_map.ratio_text(row) for row in rows],
        }
    )
    tables.show_table(
        display,
        column_config={
            "commune": st.column_config.TextColumn(t("besoins.col_commune"), pinned=True),
            "ratio": st.column_config.TextColumn(t("besoins.col_ratio_ci")),
        },
        caption=t("besoins.under_caption"),
        key="besoins_under_served",
        height=min(38 + 35 * display.height, UNDER_SERVED_HEIGHT),  # scrolls when long
    )


def all_communes_table(gaps: pl.DataFrame) -> None:
    rows = gaps.sort("name").to_dicts()
    display = pl.DataFrame(
        {
            "commune": [row["name"] for row in rows],
            "observed": [needs_text.count(row["persons"], row["suppressed"]) for row in rows],
            "rate": [needs_text.rate(row["rate"], row["population_estimated"]) for row in rows],
            "rate_ci": [needs_text.ci(row["rate_lower"], row["rate_upper"]) for row in rows],
            "vs_canton": [needs_text.comparison(row["rate_vs_canton"], short=True) for row in rows],
            "index": [fmt_decimal(row["needs_index"], 2) for row in rows],
            "expected": [fmt_decimal(row["expected"]) for row in rows],
            "ratio": [fmt_decimal(row["gap_ratio"], 2) for row in rows],
            "ratio_ci": [needs_text.ci(row["gap_lower"], row["gap_upper"], 2) for row in rows],
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
            "unmet": st.column_config.TextColumn(t("besoins.col_unmet")),
        },
        caption=t("needs.estimated_mark"),
        key="besoins_all_communes",
    )


def needs_index_note(theme: str, theme_name: str) -> str:
    """Which indicators (and years, and flags) the theme's needs index rests on."""
    if theme == needs.ALL_THEMES:
        return t("besoins.index_none")
    basis = needs.needs_basis(theme, data.run("needs_indicators"))
    if basis.is_empty():
        return t("besoins.index_none")
    lang = current_language()
    separator = " ; " if lang == "fr" else "; "  # French puts a space before the semicolon
    items = []
    for row in basis.to_dicts():
        flags = []
        if row["direction"] < 0:
            flags.append(t("besoins.inverse"))
        if row["year_inferred"]:
            flags.append(t("needs.year_inferred"))
        if row["carried"]:
            flags.append(
                t("besoins.carried_some", n=row["carried"], note=t("needs.carried_forward"))
            )
        items.append(
            t(
                "besoins.index_item",
                label=label(row, lang),
                year=row["reference_year"],
                flags="".join(f"{separator}{flag}" for flag in flags),
            )
        )
    return t("besoins.index_basis", theme=theme_name, indicators=", ".join(items))


# --- page -------------------------------------------------------------------------------------------


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
        "mesure",
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
    summary_box = st.container()

theme_name = needs_text.theme_label(theme, theme_rows)
gaps = needs.load_commune_gaps(theme, year)
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
        measure_name = t(f"needs.measure.{measure}")
        years, source = str(year), t("needs.source_activity")
        notes = [t("besoins.outline_note"), t("needs.double_count"), t("needs.estimated_mark")]
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
    if has_activity:
        under_served_table(gaps, year)
    st.markdown(needs_index_note(theme, theme_name))
    with st.expander(t("besoins.method_title")):
        st.markdown(t("besoins.method"))

with st.expander(t("besoins.all_communes")):
    all_communes_table(gaps)
