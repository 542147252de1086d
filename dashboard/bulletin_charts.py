"""The bulletin's charts (Plotly, Okabe-Ito colours) and their static export (SVG and PNG).

Static images come from Plotly's own engine, Kaleido, driving the system's Chromium offline:
plotly.js from the installed plotly package, MathJax off (it would be fetched from a CDN).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from dashboard.bulletin_data import HISTORY_QUARTERS, Bulletin
from dashboard.components import signals_charts
from dashboard.components import signals_text as words
from dashboard.components.charts import colour, separators
from dashboard.i18n import fmt_change, label, t
from etl.errors import UserError

WIDTH = 900  # pixels of the exported image (the PNG is drawn at twice that)
PNG_SCALE = 2
FONT = {"family": "Source Sans Pro, Helvetica Neue, Arial, sans-serif", "size": 13}


@dataclass(frozen=True)
class Chart:
    name: str  # file name stem
    title: str
    figure: go.Figure
    height: int


def _layout(fig: go.Figure, lang: str, height: int, **axes) -> go.Figure:
    fig.update_layout(
        width=WIDTH,
        height=height,
        margin={"l": 10, "r": 20, "t": 10, "b": 10},
        # A no-break space between thousands: the fonts Chromium falls back on in an exported SVG
        # have no narrow one (U+202F came out as nothing: « 50000 »).
        separators=separators(lang).replace("\u202f", "\u00a0"),
        font=FONT,
        plot_bgcolor="white",
        # Above the plot: below it, it ran into the axis title.
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        **axes,
    )
    # A fixed small margin, grown by Plotly to fit the tick labels (theme names, large numbers).
    fig.update_xaxes(gridcolor="#e5e5e5", automargin=True)
    fig.update_yaxes(gridcolor="#e5e5e5", automargin=True)
    return fig


def persons_chart(b: Bulletin) -> Chart:
    rows = b.canton.filter(pl.col("year") * 4 + pl.col("quarter") - 1 <= b.period).tail(
        HISTORY_QUARTERS
    )
    periods = [words.period_of(y, q) for y, q in zip(rows["year"], rows["quarter"], strict=True)]
    fig = go.Figure(
        go.Bar(
            x=[words.period_label(p, b.lang) for p in periods],
            y=rows["value"].to_list(),
            marker_color=[colour(1) if p == b.period else colour(0) for p in periods],
            hovertemplate="%{x}: %{y:,d}<extra></extra>",
        )
    )
    title = t("bulletin.chart_persons", b.lang)
    axes = {"yaxis": {"title": t("bulletin.chart_persons_axis", b.lang), "tickformat": ",d"}}
    return Chart("1-personnes-par-trimestre", title, _layout(fig, b.lang, 240, **axes), 240)


def themes_chart(b: Bulletin) -> Chart:
    rows = b.themes.filter(pl.col("change_pct").is_not_null()).sort("change_pct")
    names = [label(row, b.lang) for row in rows.iter_rows(named=True)]
    changes = rows["change_pct"].to_list()
    fig = go.Figure(
        go.Bar(
            y=names,
            x=changes,
            orientation="h",
            marker_color=[colour(0) if value >= 0 else colour(3) for value in changes],
            text=[fmt_change(value, 0, b.lang) for value in changes],
            textposition="outside",
            cliponaxis=False,
        )
    )
    height = 70 + 20 * len(names)
    before = words.period_label(b.period - 4, b.lang)
    title = t(
        "bulletin.chart_themes", b.lang, quarter=words.period_label(b.period, b.lang), before=before
    )
    # Room beyond the longest bars for their labels, which would otherwise run into the names.
    reach = max((abs(value) for value in changes), default=1) * 1.3
    low = -reach if min(changes, default=0) < 0 else 0
    axes = {"xaxis": {"title": t("bulletin.chart_themes_axis", b.lang), "range": [low, reach]}}
    return Chart("2-evolution-par-thematique", title, _layout(fig, b.lang, height, **axes), height)


def signals_chart(b: Bulletin) -> Chart | None:
    if b.signals.is_empty():
        return None
    fig = signals_charts.signals_figure(b.signals, b.lang)
    height = 90 + 34 * b.signals.height
    title = t("bulletin.chart_signals", b.lang, quarter=words.period_label(b.period, b.lang))
    return Chart("3-signaux", title, _layout(fig, b.lang, height), height)


def field_chart(b: Bulletin) -> Chart | None:
    if b.field.is_empty():
        return None
    label_column = "theme_label_en" if b.lang == "en" else "theme_label_fr"
    counts = b.field.group_by(label_column, "niveau").len().rename({label_column: "theme"})
    order = counts.group_by("theme").agg(pl.col("len").sum()).sort("len")["theme"].to_list()
    fig = go.Figure()
    for index, level in enumerate(("alerte", "vigilance")):
        part = counts.filter(pl.col("niveau") == level)
        by_theme = dict(zip(part["theme"], part["len"], strict=True))
        fig.add_trace(
            go.Bar(
                y=order,
                x=[by_theme.get(theme, 0) for theme in order],
                orientation="h",
                name=t(f"field.level.{level}", b.lang),
                marker_color=colour(3 if index == 0 else 1),
            )
        )
    height = 90 + 20 * len(order)
    title = t("bulletin.chart_field", b.lang, quarter=words.period_label(b.period, b.lang))
    axes = {
        "barmode": "stack",
        "xaxis": {"title": t("bulletin.chart_field_axis", b.lang), "dtick": 1},
    }
    return Chart("4-remontees-du-terrain", title, _layout(fig, b.lang, height, **axes), height)


def bulletin_charts(b: Bulletin) -> list[Chart]:
    charts = [persons_chart(b), themes_chart(b), signals_chart(b), field_chart(b)]
    return [chart for chart in charts if chart is not None]


def export_charts(charts: list[Chart], folder: Path, stem: str, browser: str) -> dict[str, Path]:
    """Each chart as `<stem>-<name>.svg` and `.png` in `folder`, in one browser session; returns
    the SVG paths by chart name."""
    import kaleido  # imported here: only an export needs it (and it starts Chromium)

    folder.mkdir(parents=True, exist_ok=True)
    jobs, svgs = [], {}
    for chart in charts:
        base = folder / f"{stem}-{chart.name}"
        svgs[chart.name] = base.with_suffix(".svg")
        size = {"width": WIDTH, "height": chart.height}
        jobs.append(
            {
                "fig": chart.figure,
                "path": base.with_suffix(".svg"),
                "opts": {"format": "svg", **size},
            }
        )
        jobs.append(
            {
                "fig": chart.figure,
                "path": base.with_suffix(".png"),
                "opts": {"format": "png", "scale": PNG_SCALE, **size},
            }
        )
    try:
        kaleido.write_fig_from_object_sync(
            jobs, kopts={"mathjax": False, "path": browser}, cancel_on_error=True
        )
    except Exception as exc:  # Chromium missing, crashed or timed out: say so in French
        raise UserError(
            f"Les graphiques du bulletin n'ont pas pu être dessinés avec Chromium ({browser}) : "
            f"{exc}"
        ) from exc
    return svgs
