"""Couverture thématique: themes × communes, services and activity, white zones (DESIGN §5, §7)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import charts, needs, needs_text, tables, takeaway
from dashboard.components.coverage_text import coverage_data, coverage_summary, pivot
from dashboard.i18n import current_language, fmt_int, label, t

MEASURES = ("rate", "serving", "located")
MEASURE_COLUMNS = {"rate": "rate", "serving": "services_serving", "located": "services_located"}
SUPPRESSED_COLOUR = "#BDBDBD"
WHITE_ZONE_MARK = "#444444"


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
            located=fmt_int(row["services_located"]),
            serving=fmt_int(row["services_serving"]),
        )
    )
    lines.append(t("couverture.tip_members", count=fmt_int(row["members_reporting"])))
    if row["white_zone"]:
        lines.append(f"<b>{t('couverture.tip_white')}</b>")
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
    """Rates: a continuous scale capped at the 95th percentile. Counts of services: one colour per
    whole count, ticks on the integers."""
    if measure == "rate":
        return {"colorscale": charts.SEQUENTIAL, "zmin": 0, "zmax": colour_cap(values)}, {}
    top = max((v for row in values for v in row if v is not None), default=0)
    # Light for none, dark for many: a count reads like a quantity.
    colorscale, z_range, ticks = charts.integer_scale(
        round(colour_cap(values) or top or 1), base=charts.COUNT_SCALE
    )
    return {"colorscale": colorscale, **z_range}, ticks


def heatmap(cells: pl.DataFrame, measure: str) -> go.Figure:
    """Themes in rows, communes in columns; white zones marked ×, suppressed cells grey."""
    column = MEASURE_COLUMNS[measure]
    communes = cells.select("ofs_number", "name").unique().sort("name")["name"].to_list()
    theme_order = (
        cells.select("theme", "sort_order", "label_fr", "label_en").unique().sort("sort_order")
    )
    themes = [label(row) for row in theme_order.to_dicts()]
    by_cell = {(row["name"], label(row)): row for row in cells.to_dicts()}

    def grid(value) -> list[list]:
        return [[value(by_cell[(c, th)]) for c in communes] for th in themes]

    values = grid(lambda r: None if r["white_zone"] else r[column])
    hover = grid(cell_tooltip)
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
    white = [(c, th) for th in themes for c in communes if by_cell[(c, th)]["white_zone"]]
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
    return fig


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
            "white": [row["white_zones"] for row in rows],
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
                "white": t("couverture.col_white"),
            }
        ),
        hide_index=True,
    )
    st.caption(" · ".join([t("couverture.members_note"), t("needs.double_count")]))


def white_zones_list(year: int, cells: pl.DataFrame) -> None:
    st.subheader(t("couverture.white_title", year=year))
    total, count = cells.height, int(cells["white_zone"].sum())
    if count == 0:
        st.success(t("couverture.white_none"))
        return
    st.markdown(t("couverture.white_summary", count=fmt_int(count), total=fmt_int(total)))
    lang = current_language()
    themes = cells.select("theme", "label_fr", "label_en", "sort_order").unique()
    zones = (
        needs.white_zones_by_theme(cells)
        .filter(pl.col("white_zones") > 0)
        .join(themes, on="theme")
        .sort("sort_order")
        .to_dicts()
    )
    n_communes = cells["ofs_number"].n_unique()
    display = pl.DataFrame(
        {
            "theme": [label(row, lang) for row in zones],
            "white": [row["white_zones"] for row in zones],
            "communes": [
                t("couverture.all_white")
                if row["white_zones"] == n_communes
                else ", ".join(row["white_communes"])
                for row in zones
            ],
        }
    )
    tables.show_table(
        display,
        column_config={
            "theme": st.column_config.TextColumn(t("couverture.col_theme")),
            "white": st.column_config.NumberColumn(t("couverture.col_white"), width="small"),
            "communes": st.column_config.TextColumn(
                t("couverture.col_white_communes"), width="large"
            ),
        },
        key="couverture_white_zones",
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
    default="rate",
    label=t("couverture.measure"),
    format_func=lambda code: t(f"couverture.measure_option.{code}"),
    widget="radio",
    container=filters[1],
)

cells = needs.coverage_cells(data.run("coverage_theme_commune", year=year))
measure_name = t(f"couverture.measure_option.{measure}")
notes = [t("couverture.white_note")]
notes.append(t("couverture.cap_note") if measure == "rate" else t("couverture.count_note"))
if measure == "rate":
    notes += [t("couverture.grey_note"), t("needs.double_count"), t("needs.estimated_mark")]
spec = takeaway.Takeaway(
    title=t("couverture.heatmap_title", measure=measure_name, year=year),
    summary=coverage_summary(cells, measure),
    data=coverage_data(cells),
    source=t("needs.source_activity") if measure == "rate" else t("needs.source_services"),
    years=str(year),
    notes=notes,
)


def grid_table() -> None:
    """The table view: themes in rows, communes in columns, the value shown on the grid."""
    st.dataframe(pivot(cells, measure), hide_index=True, key="couverture_grid_table")


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
members_table(year, cells)
white_zones_list(year, cells)
