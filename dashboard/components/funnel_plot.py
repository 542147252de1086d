"""The funnel plot of Besoins et lacunes: each commune's ratio observed/expected against its expected
number, with the control limits at 95 % and 99.8 % adjusted for overdispersion (etl.analysis.funnel).

Clicking a commune returns its OFS number (the page opens its brief).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components import charts, needs_text
from dashboard.i18n import fmt_decimal, fmt_int, t
from etl.analysis import funnel

FLAG_COLOURS = {
    funnel.BELOW_998: "#B35806",  # PuOr oranges (under-served), as on the map
    funnel.BELOW_95: "#F1A340",
    funnel.WITHIN: "#9E9E9E",
    funnel.ABOVE_95: "#998EC3",
    funnel.ABOVE_998: "#542788",
}
HEIGHT = 420
RATIO_TICKS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)  # ratios are drawn from 0.05 (0 is shown there)
RATIO_TEXT = {0.25: "¼", 0.5: "½", 1.0: "1", 2.0: "2", 4.0: "4"}
GRID_POINTS = 120


def limit_grid_range(expected: list[float]) -> tuple[float, float]:
    """The expected numbers the limits are drawn over: a little beyond the communes' own."""
    return max(min(expected), 0.5) * 0.8, max(expected) * 1.25


def expected_ticks(bounds: tuple[float, float]) -> list[float]:
    """1, 2, 5 × 10^k inside the range, written in full (Plotly writes « 2 », « 5 » between
    decades on a wide range and crowds « 1800 2000 2200 » on a narrow one)."""
    low, high = bounds
    ticks = [
        step * 10**power
        for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        for step in (1, 2, 5)
    ]
    return [tick for tick in ticks if low <= tick <= high]


def limit_curves(expected: list[float], tau2: float) -> dict[float, tuple[list, list, list]]:
    """For each level: a grid of expected numbers and the adjusted lower and upper limits on it."""
    grid = np.geomspace(*limit_grid_range(expected), GRID_POINTS)
    curves = {}
    for level in funnel.LEVELS:
        lower, upper = funnel.adjusted_limits(grid, level, tau2)
        curves[level] = (grid.tolist(), lower.tolist(), upper.tolist())
    return curves


# Longer than 60 lines: one Plotly figure: the limit curves, the communes coloured by
# flag and the highlighted one, each a trace with its own settings.
def figure(gaps: pl.DataFrame, tau2: float, highlight: list[int] | None = None) -> go.Figure:
    """Communes with a published count and an expected number, coloured by their flag."""
    points = gaps.filter(pl.col("gap_ratio").is_not_null() & (pl.col("expected") > 0))
    fig = go.Figure()
    if points.is_empty():
        return fig
    styles = {0.95: ("dash", t("besoins.funnel_95")), 0.998: ("dot", t("besoins.funnel_998"))}
    for level, (grid, lower, upper) in limit_curves(points["expected"].to_list(), tau2).items():
        dash, name = styles[level]
        for values, show in ((upper, True), (lower, False)):
            fig.add_trace(
                go.Scatter(
                    x=grid,
                    y=[max(v, 0.05) for v in values],
                    mode="lines",
                    line={"color": "#555555", "dash": dash, "width": 1},
                    name=name,
                    legendgroup=name,
                    showlegend=show,
                    hoverinfo="skip",
                )
            )
    fig.add_hline(y=1, line={"color": "#333333", "width": 1})
    chosen = set(highlight or [])
    for flag, colour in FLAG_COLOURS.items():
        rows = points.filter(pl.col("gap_flag") == flag).to_dicts()
        if not rows:
            continue
        fig.add_trace(
            go.Scatter(
                x=[row["expected"] for row in rows],
                y=[max(row["gap_ratio"], 0.05) for row in rows],
                mode="markers",
                marker={
                    "color": colour,
                    "size": [13 if row["ofs_number"] in chosen else 9 for row in rows],
                    "line": {
                        "color": "#000000",
                        "width": [2 if row["ofs_number"] in chosen else 0.5 for row in rows],
                    },
                },
                customdata=[row["ofs_number"] for row in rows],
                text=[_hover(row) for row in rows],
                hovertemplate="%{text}<extra></extra>",
                name=t(f"needs.flag.{flag}"),
            )
        )
    fig.update_layout(
        height=HEIGHT,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="white",
        separators=charts.separators(),
        clickmode="event+select",
        dragmode=False,
        legend={"orientation": "h", "y": -0.25},
        xaxis={
            "type": "log",
            "title": t("besoins.funnel_x"),
            "gridcolor": "#EEEEEE",
            "tickvals": (ticks := expected_ticks(limit_grid_range(points["expected"].to_list()))),
            "ticktext": [fmt_int(v) if v >= 1 else fmt_decimal(v, 1) for v in ticks],
        },
        yaxis={
            "type": "log",
            "title": t("besoins.funnel_y"),
            "gridcolor": "#EEEEEE",
            # Plotly labels a log axis 2, 3, 4, 5… inside each decade, which reads as noise here.
            "tickvals": RATIO_TICKS,
            "ticktext": [
                RATIO_TEXT.get(v) or fmt_decimal(v, 2 if v < 0.1 else 1) for v in RATIO_TICKS
            ],
        },
    )
    return fig


def _hover(row: dict) -> str:
    return "<br>".join(
        [
            f"<b>{row['name']}</b>",
            t(
                "besoins.tip_expected",
                expected=fmt_decimal(row["expected"]),
                index=fmt_decimal(row["needs_index"], 2),
            ),
            t(
                "besoins.tip_gap",
                ratio=fmt_decimal(row["gap_ratio"], 2),
                ci=needs_text.ci(row["gap_lower"], row["gap_upper"], 2),
            ),
            t(f"needs.flag.{row['gap_flag']}"),
        ]
    )


def clicked(event: object) -> int | None:
    """The OFS number of the commune clicked on the funnel plot, if any (a plain dict in AppTest)."""
    try:
        points = event["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    for point in points or []:
        value = point.get("customdata") if isinstance(point, dict) else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            return int(value)
    return None


def show(fig: go.Figure, *, key: str, alt: str | None = None) -> int | None:
    """Draw the funnel plot with click selection; `alt`: its text alternative (screen readers)."""
    event = st.plotly_chart(
        fig,
        key=key,
        on_select="rerun",
        selection_mode="points",
        config=charts.PLOTLY_CONFIG,
        alt=alt,
    )
    return clicked(event)
