"""Plotly charts with colour-blind-safe colours, each shown with its source and year.

Colours: the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies), yellow
last because it is faint on white; lines also differ by dash so that print in grey stays readable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from plotly.colors import sample_colorscale

from dashboard.i18n import current_language, t

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SEQUENTIAL = "Viridis"  # perceptually uniform, colour-blind safe, for maps and heat maps
COUNT_SCALE = "Blues"  # whole counts (services): light for none, dark for many, one hue
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def colour(index: int) -> str:
    return OKABE_ITO[index % len(OKABE_ITO)]


def separators(lang: str | None = None) -> str:
    """Plotly's `separators` (decimal then thousands): '1 234,5' in French, '1,234.5' in English."""
    return ".," if (lang or current_language()) == "en" else ",\u202f"


@dataclass(frozen=True)
class Event:
    """A real event drawn on time series (domain_notes.md): a band, or a line when start == end."""

    key: str  # i18n key of its label
    start: dt.date
    end: dt.date
    fill: str  # light tints of the palette's sky blue and orange
    # Label row above the plot: one per event, so that labels never overlap, even on a phone where
    # the COVID and inflation bands are a few pixels apart.
    row: int


EVENTS = (
    Event(
        "common.event.covid",
        dt.date(2020, 3, 1),
        dt.date(2021, 12, 31),
        "rgba(86, 180, 233, 0.16)",
        0,
    ),
    Event(
        "common.event.inflation",
        dt.date(2022, 1, 1),
        dt.date(2023, 12, 31),
        "rgba(230, 159, 0, 0.14)",
        1,
    ),
    Event("common.event.ukraine", dt.date(2022, 2, 24), dt.date(2022, 2, 24), "#555555", 2),
)


def year_axis_position(day: dt.date) -> float:
    """Where a date falls on an axis whose points are whole years centred on the integer."""
    start = dt.date(day.year, 1, 1)
    length = (dt.date(day.year + 1, 1, 1) - start).days
    return day.year - 0.5 + (day - start).days / length


def quarter_axis_position(day: dt.date) -> float:
    """Where a date falls on an axis whose quarter points sit at year + (quarter - 0.5) / 4."""
    start = dt.date(day.year, 1, 1)
    length = (dt.date(day.year + 1, 1, 1) - start).days
    return day.year + (day - start).days / length


def quarter_position(year: int, quarter: int) -> float:
    return year + (quarter - 0.5) / 4


def add_events(fig: go.Figure, *, quarterly: bool, x_range: tuple[float, float]) -> None:
    """Shade the real events that fall inside the plotted range, with their label on top."""
    position = quarter_axis_position if quarterly else year_axis_position
    low, high = x_range
    middle = (low + high) / 2
    for event in EVENTS:
        x0 = max(position(event.start), low)
        x1 = min(position(event.end + dt.timedelta(days=1)), high)
        if x0 > high or x1 < low:
            continue
        if event.start == event.end:
            fig.add_vline(x=x0, line_dash="dot", line_color=event.fill, line_width=1)
            x1 = x0
        else:
            fig.add_vrect(x0=x0, x1=x1, fillcolor=event.fill, line_width=0, layer="below")
        # A label in the right half ends at its event, so that it stays inside a narrow chart.
        right_half = x0 > middle
        fig.add_annotation(
            x=x1 if right_half else x0,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            xanchor="right" if right_half else "left",
            yshift=2 + 14 * event.row,
            text=t(event.key),
            showarrow=False,
            font={"size": 11, "color": "#444444"},
        )


@dataclass(frozen=True)
class Series:
    """One line: its label, x and y values, and which points rest on an estimated population."""

    label: str
    x: Sequence[float]
    y: Sequence[float | None]
    estimated: Sequence[bool] | None = None
    hover: Sequence[str] | None = None


# Longer than 60 lines: one Plotly figure set up in one place (traces, event bands,
# axes, legend, accessibility); split, its options would travel through several signatures.
def line_chart(
    series: Sequence[Series],
    *,
    y_title: str,
    x_ticks: tuple[Sequence[float], Sequence[str]] | None = None,
    quarterly: bool = False,
    events: bool = True,
    height: int = 440,
    y_format: str = ",d",
) -> go.Figure:
    """Lines with markers; points resting on an estimated population get an open marker."""
    fig = go.Figure()
    for index, one in enumerate(series):
        estimated = list(one.estimated) if one.estimated is not None else [False] * len(one.x)
        fig.add_trace(
            go.Scatter(
                x=list(one.x),
                y=list(one.y),
                name=one.label,
                mode="lines+markers",
                line={"color": colour(index), "dash": DASHES[index // len(OKABE_ITO) % 6]},
                marker={
                    "size": 8,
                    "symbol": ["circle-open" if flag else "circle" for flag in estimated],
                    "line": {"width": 2, "color": colour(index)},
                },
                text=list(one.hover) if one.hover is not None else None,
                hovertemplate="%{text}<extra>%{fullData.name}</extra>"
                if one.hover is not None
                else None,
            )
        )
    xs = [x for one in series for x in one.x]
    x_range = None
    if xs:
        margin = 0.5 / 4 if quarterly else 0.5
        x_range = (min(xs) - margin, max(xs) + margin)
        # A fixed range: Plotly's autorange makes room for the event labels, which on a phone
        # stretched a 2015–2025 axis to 2029.
        fig.update_xaxes(range=list(x_range))
    if events and x_range is not None:
        add_events(fig, quarterly=quarterly, x_range=x_range)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        separators=separators(),
        # Low enough to clear the year labels that a phone turns upright (-0.12 hid them).
        legend={"orientation": "h", "yanchor": "top", "y": -0.17, "x": 0},
        # d3 formats with the language's separators: "25 000", not SI's "25k".
        yaxis={"title": y_title, "rangemode": "tozero", "tickformat": y_format},
        hovermode="closest",
    )
    if x_ticks is not None:
        fig.update_xaxes(tickvals=list(x_ticks[0]), ticktext=list(x_ticks[1]))
    if quarterly and xs:
        # Labels sit mid-year; the grid marks where each year starts.
        first, last = int(min(xs)), int(max(xs)) + 1
        fig.update_xaxes(
            showgrid=False,
            minor={"tickvals": list(range(first, last + 1)), "showgrid": True, "ticks": ""},
        )
    else:
        fig.update_xaxes(dtick=1, tickformat="d")
    return fig


def chart_caption(source: str, years: str, notes: Sequence[str] = ()) -> str:
    """'Source : … · Années : … · notes' — every chart states where its figures come from."""
    parts = [t("common.chart.source", source=source), t("common.chart.years", years=years)]
    return " · ".join([*parts, *notes])


def wide_frame(key: str, min_width: int):
    """A container in which a chart keeps `min_width` pixels and scrolls sideways on a narrower
    screen (a phone) instead of being squeezed: a grid of 45 communes cannot be read in 360 px."""
    frame = f"wide_chart_{key}"
    st.html(
        f"<style>.st-key-{frame} {{ overflow-x: auto; }} "
        # Streamlit sizes the figure to its element container: that is what must be wide.
        f".st-key-{frame} [data-testid='stElementContainer'] {{ min-width: {int(min_width)}px; }}"
        "</style>"
    )
    return st.container(key=frame)


def integer_scale(
    top: int, base: str = SEQUENTIAL
) -> tuple[list[list], dict[str, float], dict[str, object]]:
    """A stepped colour scale for whole counts 0…top: one colour per count, ticks on the integers.

    Returns the colorscale, the z range (zmin, zmax) and the colour bar's tick settings. (A
    continuous scale drew « 0.2 » and « 0.4 » ticks for counts of services.)
    """
    top = max(int(top), 1)
    steps = min(top, 10)
    colours = sample_colorscale(base, [i / steps for i in range(steps + 1)])
    scale = []
    for index, colour in enumerate(colours):
        scale += [[index / (steps + 1), colour], [(index + 1) / (steps + 1), colour]]
    ticks = list(range(0, top + 1, max(1, round(top / steps))))
    z_range = {"zmin": -0.5 * top / steps, "zmax": top + 0.5 * top / steps}
    return scale, z_range, {"tickvals": ticks, "ticktext": [str(v) for v in ticks]}


def years_text(years: Sequence[int]) -> str:
    """'2019–2024' or '2024'."""
    years = sorted(set(years))
    if not years:
        return "–"
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def frame_years(frame: pl.DataFrame, column: str = "year") -> str:
    return years_text(frame[column].drop_nulls().to_list()) if frame.height else "–"
