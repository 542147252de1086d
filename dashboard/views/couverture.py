"""Couverture thématique: themes × communes, services and activity, white zones (DESIGN §5, §7).

The grid and the map go through the take-away component (summary sentence as text alternative, CSV,
citation, chart / table switch kept in the URL: ?vue= for the grid, ?vue_carte= for the map).
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import charts, coverage_text, needs, needs_text, tables, takeaway
from dashboard.components import map as commune_map
from dashboard.i18n import current_language, fmt_decimal, fmt_int, label, t

MEASURES = ("state", "need", "rate", "local")
MEASURE_COLUMNS = {"rate": "rate", "local": "services_local", "need": "needs_index"}
SUPPRESSED_COLOUR = "#BDBDBD"
WHITE_ZONE_MARK = "#444444"
# The three coverage states (etl/analysis/coverage.py): colour-blind-safe, light to dark.
STATE_COLOURS = {"local": "#1B7837", "canton": "#A6DBA0", "aucun": "#F7F7F7"}
STATE_CODES = {"local": 2, "canton": 1, "aucun": 0}


# About 10 pixels a commune column plus the theme labels; narrower (a phone), it scrolls sideways
# (a laptop's main column is wider: nothing changes there).
HEATMAP_MIN_WIDTH = 760


def cell_tooltip(row: dict) -> str:
    lines = [f"<b>{row['name']}</b> — {label(row)}"]
    lines.append(
        t(
            "couverture.tip_persons",
            count=needs_text.count(row["persons"], row["persons_suppressed"]),
        )
    )
    if row["rate"] is not None:
        lines.append(
            t(
                "couverture.tip_rate",
                rate=needs_text.rate(row["rate"], row["population_estimated"]),
                ci=needs_text.ci(row["rate_lower"], row["rate_upper"]),
            )
        )
    lines.append(
        t(
            "couverture.tip_services",
            local=fmt_int(row["services_local"]),
            canton=fmt_int(row["services_canton_wide"]),
        )
    )
    lines.append(t("couverture.tip_members", count=fmt_int(row["members_reporting"])))
    state_text = t(f"couverture.state.{row['coverage_state']}")
    lines.append(f"<b>{state_text}</b>")
    lines.append(t("couverture.tip_need", index=fmt_decimal(row["needs_index"], 2)))
    if row["priority_white_zone"]:
        lines.append(f"<b>{t('couverture.tip_priority')}</b>")
    if row["population_estimated"]:
        lines.append(t("needs.population_estimated"))
    return "<br>".join(lines)


def colour_cap(values: list[list]) -> float | None:
    """Top of the colour scale: the 95th percentile, so that one outlier does not flatten the rest.

    Cells above it take the top colour; their tooltip gives the exact value.
    """
    flat = pl.Series([v for row in values for v in row if v is not None], dtype=pl.Float64)
    if flat.is_empty() or flat.max() <= 0:
        return None
    return float(flat.quantile(0.95, "linear")) or float(flat.max())


def colour_settings(values: list[list], measure: str) -> tuple[dict, dict]:
    """Rates and needs indices: a continuous scale capped at the 95th percentile. Counts of
    services: one colour per whole count, ticks on the integers."""
    if measure in ("rate", "need"):
        return {"colorscale": charts.SEQUENTIAL, "zmin": 0, "zmax": colour_cap(values)}, {}
    top = max((v for row in values for v in row if v is not None), default=0)
    # Light for none, dark for many: a count reads like a quantity.
    colorscale, z_range, ticks = charts.integer_scale(
        round(colour_cap(values) or top or 1), base=charts.COUNT_SCALE
    )
    return {"colorscale": colorscale, **z_range}, ticks


# Longer than 60 lines: one Plotly heatmap with its hover texts, white-zone marks
# and suppressed cells, built as one figure.
def heatmap(cells: pl.DataFrame, measure: str) -> go.Figure:
    """Themes in rows, communes in columns; white zones marked ×, suppressed cells grey."""
    column = MEASURE_COLUMNS.get(measure)
    communes = cells.select("ofs_number", "name").unique().sort("name")["name"].to_list()
    theme_order = (
        cells.select("theme", "sort_order", "label_fr", "label_en").unique().sort("sort_order")
    )
    themes = [label(row) for row in theme_order.to_dicts()]
    by_cell = {(row["name"], label(row)): row for row in cells.to_dicts()}

    def grid(value) -> list[list]:
        return [[value(by_cell[(c, th)]) for c in communes] for th in themes]

    hover = grid(cell_tooltip)
    if measure == "state":
        codes = grid(lambda r: STATE_CODES[r["coverage_state"]])
        return _state_heatmap(communes, themes, codes, hover)
    if measure == "need":  # the need of the communes without a local service; local cells blank
        values = grid(lambda r: r["needs_index"] if r["white_zone"] else None)
    else:
        values = grid(lambda r: r[column])
    suppressed = grid(lambda r: 1 if (measure == "rate" and r["persons_suppressed"]) else None)
    scale, ticks = colour_settings(values, measure)
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            x=communes,
            y=themes,
            z=suppressed,
            text=hover,
            colorscale=[[0, SUPPRESSED_COLOUR], [1, SUPPRESSED_COLOUR]],
            showscale=False,
            hovertemplate="%{text}<extra></extra>",
            xgap=1,
            ygap=1,
            name="suppressed",
        )
    )
    fig.add_trace(
        go.Heatmap(
            x=communes,
            y=themes,
            z=values,
            text=hover,
            colorbar={
                "title": {"text": t(f"couverture.measure_option.{measure}"), "side": "right"},
                "thickness": 12,
                **ticks,
            },
            hovertemplate="%{text}<extra></extra>",
            xgap=1,
            ygap=1,
            name="values",
            **scale,
        )
    )
    marked = "priority_white_zone" if measure == "need" else "white_zone"
    white = [(c, th) for th in themes for c in communes if by_cell[(c, th)][marked]]
    fig.add_trace(
        go.Scatter(
            x=[c for c, _ in white],
            y=[th for _, th in white],
            mode="markers",
            marker={
                "symbol": "x-thin",
                "size": 7,
                "line": {"width": 1.2, "color": WHITE_ZONE_MARK},
            },
            text=[cell_tooltip(by_cell[cell]) for cell in white],
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
            name="white_zones",
        )
    )
    _grid_layout(fig, communes, themes)
    return fig


def _state_scale() -> list:
    scale = []
    for code, coverage in enumerate(("aucun", "canton", "local")):
        scale += [[code / 3, STATE_COLOURS[coverage]], [(code + 1) / 3, STATE_COLOURS[coverage]]]
    return scale


def _state_heatmap(communes, themes, codes, hover) -> go.Figure:
    """The three coverage states as a categorical grid (legend instead of a colour bar)."""
    fig = go.Figure(
        go.Heatmap(
            x=communes,
            y=themes,
            z=codes,
            zmin=-0.5,
            zmax=2.5,
            text=hover,
            colorscale=_state_scale(),
            colorbar={
                "tickvals": [0, 1, 2],
                "ticktext": [
                    t(f"couverture.state_short.{s}") for s in ("aucun", "canton", "local")
                ],
                "thickness": 12,
            },
            hovertemplate="%{text}<extra></extra>",
            xgap=1,
            ygap=1,
            name="states",
        )
    )
    _grid_layout(fig, communes, themes)
    return fig


def _grid_layout(fig: go.Figure, communes: list[str], themes: list[str]) -> None:
    fig.update_layout(
        height=220 + 26 * len(themes),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="white",
        separators=charts.separators(),
        xaxis={
            "tickangle": -60,
            "tickmode": "array",  # every commune named, none skipped
            "tickvals": communes,
            "showgrid": False,
            "automargin": True,
        },
        yaxis={"autorange": "reversed", "showgrid": False, "automargin": True},
    )


def members_table(year: int, cells: pl.DataFrame) -> None:
    st.subheader(t("couverture.members_title", year=year))
    members = data.run("coverage_members_theme", year=year)
    white = needs.white_zones_by_theme(cells)
    lang = current_language()
    rows = members.join(white, on="theme", how="left").to_dicts()
    display = pl.DataFrame(
        {
            "theme": [label(row, lang) for row in rows],
            "declared": [row["members_declared"] for row in rows],
            "reporting": [row["members_reporting"] for row in rows],
            "persons": [
                needs_text.count(row["persons"], row["persons_suppressed"]) for row in rows
            ],
            "communes_activity": [row["communes_with_activity"] for row in rows],
            "communes_service": [row["communes_with_service"] for row in rows],
            "canton_only": [row["communes_canton_only"] for row in rows],
            "white": [row["white_zones"] for row in rows],
            "priority": [row["priority_zones"] for row in rows],
        }
    )
    # A static table: its seven long headers wrap instead of being cut or pushed out of view, and
    # it prints whole.
    st.table(
        display.rename(
            {
                "theme": t("couverture.col_theme"),
                "declared": t("couverture.col_declared"),
                "reporting": t("couverture.col_reporting"),
                "persons": t("couverture.col_persons"),
                "communes_activity": t("couverture.col_communes_activity"),
                "communes_service": t("couverture.col_communes_service"),
                "canton_only": t("couverture.col_canton_only"),
                "white": t("couverture.col_white"),
                "priority": t("couverture.col_priority"),
            }
        ),
        hide_index=True,
    )
    st.caption(" · ".join([t("couverture.members_note"), t("needs.double_count")]))


def white_zones_list(year: int, cells: pl.DataFrame) -> None:
    """The need-weighted view: communes with a high need and no local service, theme by theme."""
    st.subheader(t("couverture.white_title", year=year))
    total, count = cells.height, int(cells["white_zone"].sum())
    priority = int(cells["priority_white_zone"].sum())
    st.markdown(
        t(
            "couverture.white_summary",
            count=fmt_int(count),
            total=fmt_int(total),
            priority=fmt_int(priority),
        )
    )
    if priority == 0:
        st.success(t("couverture.priority_none"))
        return
    lang = current_language()
    themes = cells.select("theme", "label_fr", "label_en", "sort_order").unique()
    zones = (
        needs.white_zones_by_theme(cells)
        .filter(pl.col("priority_zones") > 0)
        .join(themes, on="theme")
        .sort("sort_order")
        .to_dicts()
    )
    display = pl.DataFrame(
        {
            "theme": [label(row, lang) for row in zones],
            "priority": [fmt_int(row["priority_zones"]) for row in zones],
            "communes": [", ".join(row["priority_communes"]) for row in zones],
        }
    )
    # A static table: the list of communes wraps instead of being cut at the grid's column width.
    tables.show_text_table(
        display,
        {
            "theme": t("couverture.col_theme"),
            "priority": t("couverture.col_priority"),
            "communes": t("couverture.col_priority_communes"),
        },
        caption=t("couverture.priority_caption"),
    )


def state_map(cells: pl.DataFrame, theme_rows: list[dict], year: int) -> None:
    """One theme's coverage on the map: local, canton-wide only, none; priority zones outlined."""
    codes = [row["code"] for row in theme_rows]
    theme = state.select(
        "theme",
        codes,
        default="alimentation",
        label=t("couverture.map_theme"),
        format_func=lambda code: needs_text.theme_label(code, theme_rows),
        container=st.columns([1, 2])[0],
    )
    rows = cells.filter(pl.col("theme") == theme).sort("ofs_number").to_dicts()
    values = commune_map.MapValues(
        ofs_numbers=[row["ofs_number"] for row in rows],
        values=[STATE_CODES[row["coverage_state"]] for row in rows],
        hover=[cell_tooltip(row) for row in rows],
        colour_title=t("couverture.map_legend"),
        colorscale=_state_scale(),
        zmin=-0.5,
        zmax=2.5,
        tick_values=[0, 1, 2],
        tick_text=[t(f"couverture.state_short.{s}") for s in ("aucun", "canton", "local")],
        emphasis=[row["priority_white_zone"] for row in rows],
    )
    name = needs_text.theme_label(theme, theme_rows)
    of_theme = cells.filter(pl.col("theme") == theme)
    spec = takeaway.Takeaway(
        title=t("couverture.map_title", theme=name, year=year),
        summary=coverage_text.map_summary(of_theme),
        data=coverage_text.coverage_data(of_theme),
        source=t("needs.source_services"),
        years=str(year),
        notes=[t("couverture.map_note")],
    )
    fig = commune_map.choropleth(values, commune_map.geometry(), lake_label=t("needs.lake"))
    takeaway.show(
        fig,
        spec,
        key="couverture_map",
        view_param="vue_carte",
        draw=lambda figure: commune_map.show_map(
            figure, key="couverture_map", alt=f"{spec.title}. {spec.summary}"
        ),
        table=lambda: coverage_text.map_table(of_theme),
    )


info = data.db_info()
st.title(t("couverture.title"))
if info.latest_complete_year is None:
    st.info(t("common.no_activity"))
    st.stop()
st.markdown(t("couverture.intro"))

filters = st.columns([1, 3])
year = state.select(
    "annee",
    list(reversed(info.years)),
    default=info.latest_complete_year,
    label=t("couverture.year"),
    container=filters[0],
)
measure = state.select(
    "valeur",
    MEASURES,
    default="state",
    label=t("couverture.measure"),
    format_func=lambda code: t(f"couverture.measure_option.{code}"),
    widget="radio",
    container=filters[1],
)

cells = needs.coverage_cells(data.run("coverage_theme_commune", year=year))
measure_name = t(f"couverture.measure_option.{measure}")
notes = [t(f"couverture.note.{measure}")]
if measure in ("rate", "need"):
    notes.append(t("couverture.cap_note"))
if measure == "local":
    notes.append(t("couverture.count_note"))
if measure == "rate":
    notes += [t("couverture.grey_note"), t("needs.double_count"), t("needs.estimated_mark")]
source = t("needs.source_activity") if measure == "rate" else t("needs.source_services")
if measure == "need":
    source += " ; " + t("needs.source_indicators")
spec = takeaway.Takeaway(
    title=t("couverture.heatmap_title", measure=measure_name, year=year),
    summary=coverage_text.coverage_summary(cells, measure),
    data=coverage_text.coverage_data(cells),
    source=source,
    years=str(year),
    notes=notes,
)


def grid_table() -> None:
    """The table view: themes in rows, communes in columns, the value shown on the grid."""
    st.dataframe(coverage_text.pivot(cells, measure), hide_index=True, key="couverture_grid_table")


def draw_heatmap(fig):
    with charts.wide_frame("couverture_heatmap", HEATMAP_MIN_WIDTH):
        st.plotly_chart(
            fig,
            config=takeaway.chart_config(spec),
            key="couverture_heatmap",
            alt=f"{spec.title}. {spec.summary}",
        )


takeaway.show(
    heatmap(cells, measure),
    spec,
    key="couverture_heatmap",
    view_param="vue",
    draw=draw_heatmap,
    table=grid_table,
)
white_zones_list(year, cells)
state_map(cells, data.themes().to_dicts(), year)
members_table(year, cells)
