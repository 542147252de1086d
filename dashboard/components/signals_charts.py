"""Charts of the signals, shared by the pages and the bulletin (no Streamlit call here)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.components import signals_text as words
from dashboard.components.charts import colour, quarter_position, separators
from dashboard.i18n import fmt_int, t

ORANGE, GREY = colour(1), "#555555"


def history_figure(history: pl.DataFrame, row: dict, lang: str, height: int = 320) -> go.Figure:
    """The series' published counts by quarter (rows of the query `trends` by quarter), with what
    the assessed quarter's history predicted and the limit above which it is a signal."""
    history = history.sort("year", "quarter")
    x = [quarter_position(y, q) for y, q in zip(history["year"], history["quarter"], strict=True)]
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=history["value"].to_list(),  # withheld: empty, the line breaks there
            name=t("signals.history_observed", lang=lang),
            mode="lines+markers",
            line={"color": colour(0)},
            hovertemplate="%{y:,d}<extra></extra>",
        )
    )
    at = quarter_position(row["year"], row["quarter"])
    if row["expected"] is not None:
        fig.add_trace(
            go.Scatter(
                x=[at],
                y=[row["expected"]],
                name=t("signals.history_expected", lang=lang),
                mode="markers",
                marker={"symbol": "diamond-open", "size": 12, "color": GREY, "line": {"width": 2}},
                hovertemplate="%{y:,.0f}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[at],
                y=[words.within_limit(row["upper_limit"])],
                name=t("signals.history_limit", lang=lang),
                mode="markers",
                marker={
                    "symbol": "line-ew-open",
                    "size": 22,
                    "color": ORANGE,
                    "line": {"width": 3},
                },
                hovertemplate="%{y:,d}<extra></extra>",
            )
        )
    first, last = int(min(x)) if x else row["year"], row["year"] + 1
    step = 1 if last - first <= 6 else 2  # a narrow column: every other year beyond six
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        separators=separators(lang),
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
        yaxis={"title": t("signals.history_axis_short", lang=lang), "rangemode": "tozero"},
        xaxis={
            "tickvals": list(range(last - 1, first - 1, -step))[::-1],
            "tickformat": "d",
            "range": [first, last],
        },
        hovermode="closest",
    )
    return fig


def signals_figure(rows: pl.DataFrame, lang: str, height: int | None = None) -> go.Figure:
    """One bar per signal: the published count against its expected count and limit."""
    rows = rows.sort("ratio")
    names = [words.title(row, lang) for row in rows.iter_rows(named=True)]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=rows["observed"].to_list(),
            orientation="h",
            name=t("signals.history_observed", lang=lang),
            marker_color=colour(0),
            text=[fmt_int(v, lang) for v in rows["observed"].to_list()],
            textposition="outside",
        )
    )
    fig.add_trace(
        go.Scatter(
            y=names,
            x=rows["expected"].to_list(),
            mode="markers",
            name=t("signals.history_expected", lang=lang),
            marker={"symbol": "diamond-open", "size": 11, "color": GREY, "line": {"width": 2}},
        )
    )
    fig.add_trace(
        go.Scatter(
            y=names,
            x=[words.within_limit(v) for v in rows["upper_limit"].to_list()],
            mode="markers",
            name=t("signals.history_limit", lang=lang),
            marker={"symbol": "line-ns-open", "size": 18, "color": ORANGE, "line": {"width": 3}},
        )
    )
    fig.update_layout(
        height=height or 120 + 42 * rows.height,
        margin={"l": 10, "r": 40, "t": 10, "b": 10},
        separators=separators(lang),
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
        xaxis={"title": t("signals.history_axis", lang=lang), "rangemode": "tozero"},
        bargap=0.35,
    )
    return fig
