"""Besoins et lacunes: where needs are not met, commune by commune (DESIGN §5, §7).

The map shows one measure for a theme and a year; beside it, the communes significantly
under-served. Clicking a commune opens its brief (?commune=<ofs>).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import banner, charts, funnel_plot, needs, needs_text, tables
from dashboard.components import map as commune_map
from dashboard.i18n import DEFAULT_LANGUAGE, current_language, fmt_decimal, fmt_int, label, t

FICHE_PAGE = Path(__file__).with_name("fiche.py")
MEASURES = ("gap", "rate", "unmet", "indicator")
DEFAULT_THEME = "alimentation"
DEFAULT_INDICATOR = "social_assistance_rate_pct"
GAP_CAP = 4.0  # ratios are drawn on a log2 scale between 1/4 and 4
GAP_TICKS = (0.25, 0.5, 1.0, 2.0, 4.0)
MAP_HEIGHT = 560
NO_COMMUNE = 0  # the neighbours filter's « every commune »


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
        lines.append(t(f"needs.flag.{row['gap_flag']}"))
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
    st.markdown(f"##### {t('besoins.under_title')}")
    ranked = needs.under_served(gaps)
    if ranked.is_empty():
        st.info(t("besoins.under_none", year=year))
        return
    rows = ranked.to_dicts()
    display = pl.DataFrame(
        {
            "rank": list(range(1, len(rows) + 1)),
            "commune": [
                row["name"] + (needs_text.ESTIMATED_MARK if row["estimate_matters"] else "")
                for row in rows
            ],
            "level": [t(f"besoins.limit_crossed.{row['gap_flag']}") for row in rows],
            "observed": [fmt_int(row["persons"]) for row in rows],
            "expected": [fmt_decimal(row["expected"]) for row in rows],
            "ratio": [
                f"{fmt_decimal(row['gap_ratio'], 2)} "
                f"({fmt_decimal(row['gap_lower'], 2)}–{fmt_decimal(row['gap_upper'], 2)})"
                for row in rows
            ],
        }
    )
    tables.show_table(
        display,
        column_config={
            "rank": st.column_config.NumberColumn("#", width=36),
            "commune": st.column_config.TextColumn(t("besoins.col_commune")),
            "level": st.column_config.TextColumn(t("besoins.col_limit"), width=64),
            "observed": st.column_config.TextColumn(t("besoins.col_observed"), width=60),
            "expected": st.column_config.TextColumn(t("besoins.col_expected"), width=72),
            "ratio": st.column_config.TextColumn(t("besoins.col_ratio_ci"), width=140),
        },
        caption=_caption_with_mark(t("besoins.under_caption"), ranked),
        key="besoins_under_served",
        height=min(38 + 35 * display.height, MAP_HEIGHT),  # scrolls beside the map when long
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


def funnel_section(gaps: pl.DataFrame, theme: str, year: int, highlight: list[int]) -> None:
    """The funnel plot under the map: ratio against expected, adjusted limits, clickable."""
    dispersion = {row["comparison"]: row for row in needs.load_dispersion(theme, year).to_dicts()}
    estimate = dispersion.get("besoins")
    st.markdown(f"**{t('besoins.funnel_title', year=year)}**", help=t("besoins.funnel_help"))
    if estimate is None or estimate["tau2"] is None:
        st.info(t("besoins.funnel_none"))
        return
    fig = funnel_plot.figure(gaps, estimate["tau2"], highlight)
    clicked = funnel_plot.show(fig, key="besoins_funnel")
    notes = [
        t(
            "besoins.funnel_note",
            n=estimate["n_communes"],
            phi=fmt_decimal(estimate["phi"], 1),
            tau=fmt_decimal(estimate["tau2"] ** 0.5, 3),
        ),
        t("needs.double_count"),
    ]
    st.caption(charts.chart_caption(t("needs.source_activity"), str(year), notes))
    if clicked is not None:
        open_brief(clicked)


# --- page -------------------------------------------------------------------------------------------


info = data.db_info()
st.title(t("besoins.title"))
banner.freshness_caption(info)
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
filters = st.columns([2, 1, 2, 2, 2])
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
measure = state.select(
    "mesure",
    MEASURES,
    default="gap",
    label=t("besoins.measure"),
    format_func=lambda code: t(f"needs.measure.{code}"),
    container=filters[2],
)
indicator = None
if measure == "indicator":
    indicator = state.select(
        "indicateur",
        list(indicator_labels),
        default=DEFAULT_INDICATOR,
        label=t("besoins.indicator"),
        format_func=lambda code: indicator_labels.get(code, code),
        container=filters[3],
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
    container=filters[4],
)

theme_name = needs_text.theme_label(theme, theme_rows)
gaps = needs.load_commune_gaps(theme, year)
group: list[int] = []
if around != NO_COMMUNE:
    group = [around, *needs.neighbours_of(around, year)["neighbour_ofs"].to_list()]
shown = gaps.filter(pl.col("ofs_number").is_in(group)) if group else gaps
has_activity = gaps["canton_rate"].drop_nulls().len() > 0
shapes = commune_map.geometry()

map_column, list_column = st.columns([1, 1], gap="medium")
with map_column:
    if measure == "indicator":
        profile = needs.load_indicator_profile()
        values = indicator_map_values(profile, indicator, shapes.names)
        measure_name = indicator_labels.get(indicator, indicator)
        years = profile.filter(pl.col("indicator_code") == indicator)["value_year"]
        caption = charts.chart_caption(
            t("needs.source_indicators"), charts.years_text(years.to_list()), []
        )
    else:
        values = activity_map_values(gaps, measure, year)
        if group:  # the commune and its neighbours outlined instead of the under-served
            values = replace(values, emphasis=[ofs in group for ofs in values.ofs_numbers])
        measure_name = t(f"needs.measure.{measure}")
        outline = t("besoins.outline_neighbours") if group else t("besoins.outline_note")
        notes = [outline, t("needs.double_count")]
        if measure == "gap":
            notes.insert(0, t("besoins.gap_scale_note"))
        caption = charts.chart_caption(t("needs.source_activity"), str(year), notes)
    st.markdown(
        f"**{t('besoins.map_title', measure=measure_name, theme=theme_name, year=year)}**",
        help=t("besoins.map_help"),
    )
    if any(value is None for value in values.values):
        caption += " · " + t("besoins.grey_note")
    if measure != "indicator" and not has_activity:
        st.info(t("besoins.no_activity_theme", year=year))
    fig = commune_map.choropleth(values, shapes, lake_label=t("needs.lake"), height=MAP_HEIGHT)
    clicked = commune_map.show_map(fig, key="besoins_map")
    st.caption(caption)
    if clicked is not None:
        open_brief(clicked)

with list_column:
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

if has_activity and measure != "indicator":
    funnel_section(shown, theme, year, group[:1])

with st.expander(t("besoins.all_communes")):
    all_communes_table(shown)
