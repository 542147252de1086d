"""Spine chart (PHE Fingertips style): one commune against the canton on many indicators at once.

Each row is an indicator. The grey bar spans the 45 communes' values (darker between the quartiles),
the black line in the middle is the canton's value and the dot is the commune, coloured by its
comparison with the canton (significantly better / similar / worse, or higher / lower for neutral
indicators). Rows are scaled so that the canton sits in the middle and the farthest commune at an
end; for indicators where a high value is unfavourable the axis is reversed, so that "worse" is
always on the left. The geometry is computed once here and drawn in Plotly (page) or SVG (brief).
"""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import plotly.graph_objects as go

from dashboard.components.needs_text import COMPARISON_COLOURS

RANGE_COLOUR = "#E3E3E3"
QUARTILE_COLOUR = "#A6A6A6"
CANTON_COLOUR = "#000000"
SVG_TOP, SVG_ROW = 22, 26  # the SVG's header and row heights (the HTML brief aligns labels on them)
# Long labels wrap on two lines: unwrapped, they took 290 of a phone's 360 pixels, leaving the bars 60.
LABEL_WRAP = 30


@dataclass(frozen=True)
class SpineRow:
    label: str
    value_text: str
    canton_text: str
    category: str  # a key of COMPARISON_COLOURS
    lowest: float  # positions on [0, 1], canton at 0.5
    q1: float
    q3: float
    highest: float
    value: float
    hover: str = ""


def positions(
    value: float,
    canton: float,
    spread: tuple[float, float, float, float],
    *,
    reverse: bool,
) -> tuple[float, float, float, float, float]:
    """(lowest, q1, q3, highest, value) on [0, 1] with the canton at 0.5.

    The half-width is the larger distance from the canton to the extreme communes, so that every
    commune fits; `reverse` mirrors the axis (worse on the left for high-is-unfavourable indicators).
    """
    minimum, q1, q3, maximum = spread
    half = max(maximum - canton, canton - minimum, abs(value - canton))
    if half <= 0:
        half = 1.0

    def place(x: float) -> float:
        position = 0.5 + (x - canton) / (2 * half)
        return 1 - position if reverse else position

    ends = sorted((place(minimum), place(maximum)))
    quartiles = sorted((place(q1), place(q3)))
    return ends[0], quartiles[0], quartiles[1], ends[1], place(value)


# Longer than 60 lines: one Plotly figure in one place: the ranges, the canton line
# and the commune dots are traces of one chart, each a block of keyword settings.
def figure(rows: Sequence[SpineRow], *, left_label: str, right_label: str) -> go.Figure:
    """The spine chart in Plotly: ranges as horizontal bars, the canton line, the commune dots."""
    labels = ["<br>".join(textwrap.wrap(row.label, LABEL_WRAP)) or row.label for row in rows]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[row.highest - row.lowest for row in rows],
            base=[row.lowest for row in rows],
            orientation="h",
            marker={"color": RANGE_COLOUR},
            hoverinfo="skip",
            showlegend=False,
            width=0.55,
        )
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[row.q3 - row.q1 for row in rows],
            base=[row.q1 for row in rows],
            orientation="h",
            marker={"color": QUARTILE_COLOUR},
            hoverinfo="skip",
            showlegend=False,
            width=0.55,
        )
    )
    fig.add_trace(
        go.Scatter(
            y=labels,
            x=[row.value for row in rows],
            mode="markers",
            marker={
                "size": 13,
                "color": [COMPARISON_COLOURS[row.category] for row in rows],
                "line": {"color": "#333333", "width": 1},
                "symbol": "circle",
            },
            text=[row.hover for row in rows],
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
            cliponaxis=False,  # a commune at an end keeps its whole dot on a narrow chart
        )
    )
    fig.add_vline(x=0.5, line_color=CANTON_COLOUR, line_width=2)
    fig.update_layout(
        barmode="overlay",
        height=86 + 34 * len(rows),
        margin={"l": 10, "r": 10, "t": 46, "b": 10},
        xaxis={"range": [-0.02, 1.02], "visible": False, "fixedrange": True},
        yaxis={"autorange": "reversed", "fixedrange": True, "automargin": True},
        plot_bgcolor="white",
        annotations=[
            {
                "x": 0,
                "y": 1,
                "xref": "paper",
                "yref": "paper",
                "yanchor": "bottom",
                "xanchor": "left",
                "text": left_label,
                "showarrow": False,
                "font": {"size": 12},
            },
            {
                "x": 1,
                "y": 1,
                "xref": "paper",
                "yref": "paper",
                "yanchor": "bottom",
                "xanchor": "right",
                # One line above the left label, so that the two never overlap on a narrow screen.
                "yshift": 16,
                "text": right_label,
                "showarrow": False,
                "font": {"size": 12},
            },
        ],
    )
    return fig


def svg(rows: Sequence[SpineRow], *, left_label: str, right_label: str, width: int = 360) -> str:
    """The same chart as a standalone SVG (for the printable HTML brief): no script needed."""
    row_height, top = SVG_ROW, SVG_TOP
    height = top + row_height * len(rows) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">',
        f'<text x="0" y="13" font-size="11" fill="#444">{escape(left_label)}</text>',
        f'<text x="{width}" y="13" font-size="11" fill="#444" text-anchor="end">'
        f"{escape(right_label)}</text>",
    ]
    dots = []
    for index, row in enumerate(rows):
        y = top + index * row_height
        bar_y, bar_h = y + 6, row_height - 12

        def px(position: float) -> float:
            return round(6 + position * (width - 12), 1)

        parts.append(
            f'<rect x="{px(row.lowest)}" y="{bar_y}" width="{px(row.highest) - px(row.lowest)}" '
            f'height="{bar_h}" fill="{RANGE_COLOUR}"/>'
        )
        parts.append(
            f'<rect x="{px(row.q1)}" y="{bar_y}" width="{px(row.q3) - px(row.q1)}" '
            f'height="{bar_h}" fill="{QUARTILE_COLOUR}"/>'
        )
        dots.append(
            f'<circle cx="{px(row.value)}" cy="{y + row_height / 2}" r="6" '
            f'fill="{COMPARISON_COLOURS[row.category]}" stroke="#333" stroke-width="1">'
            f"<title>{escape(row.label)}: {escape(row.value_text)}</title></circle>"
        )
    middle = round(6 + 0.5 * (width - 12), 1)
    parts.append(
        f'<line x1="{middle}" y1="{top}" x2="{middle}" y2="{height - 4}" '
        f'stroke="{CANTON_COLOUR}" stroke-width="2"/>'
    )
    parts += dots  # on top of the canton line
    parts.append("</svg>")
    return "".join(parts)


def row_image(row: SpineRow, *, width: int = 170, height: int = 20) -> str:
    """The row's SVG as an <img> (a data: URL, nothing fetched): Streamlit's HTML sanitiser keeps
    images, not inline SVG, and the alt text carries the values for screen readers."""
    svg = row_svg(row, width=width, height=height)
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    alt = escape(f"{row.label} : {row.value_text} (canton {row.canton_text})")
    return (
        f'<img src="data:image/svg+xml;base64,{encoded}" alt="{alt}" width="{width}" '
        f'height="{height}">'
    )


def row_svg(row: SpineRow, *, width: int = 170, height: int = 20) -> str:
    """One row of the spine chart as a small SVG, to sit in its table row (the brief's profile).

    It scales with its cell (viewBox), so that it prints inside the page at any width.
    """

    def px(position: float) -> float:
        return round(5 + position * (width - 10), 1)

    bar_y, bar_h, middle = 4, height - 8, px(0.5)
    title = escape(f"{row.label} : {row.value_text} (canton {row.canton_text})")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{title}">'
        f'<rect x="{px(row.lowest)}" y="{bar_y}" width="{px(row.highest) - px(row.lowest)}" '
        f'height="{bar_h}" fill="{RANGE_COLOUR}"/>'
        f'<rect x="{px(row.q1)}" y="{bar_y}" width="{px(row.q3) - px(row.q1)}" '
        f'height="{bar_h}" fill="{QUARTILE_COLOUR}"/>'
        f'<line x1="{middle}" y1="1" x2="{middle}" y2="{height - 1}" stroke="{CANTON_COLOUR}" '
        f'stroke-width="2"/>'
        f'<circle cx="{px(row.value)}" cy="{height / 2}" r="5" '
        f'fill="{COMPARISON_COLOURS[row.category]}" stroke="#333" stroke-width="1"/></svg>'
    )
