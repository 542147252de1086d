"""Field observations (« remontées du terrain »): cards, the alerts chart, the commune brief's list.

Everything here reads PUBLIC observations only (`public.observations` of the public file, where the
members' `public = non` observations never arrive).
"""

from __future__ import annotations

import contextlib
import datetime as dt

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.errors import StreamlitAPIException

from dashboard import data
from dashboard.components import charts, takeaway
from dashboard.components.charts import colour, separators
from dashboard.components.directory import md_escape
from dashboard.i18n import current_language, fmt_date, fmt_int, label, t

LEVELS = ("information", "vigilance", "alerte")
LEVEL_BADGES = {"information": "blue", "vigilance": "orange", "alerte": "red"}


def level_badge(level: str) -> str:
    return f":{LEVEL_BADGES.get(level, 'gray')}-badge[{t(f'field.level.{level}')}]"


AGREEMENT_BADGES = {"confirmed": "green", "not_seen": "blue"}


def observation_card(
    row: dict, lang: str, *, show_commune: bool = True, numbers: tuple[str, str] | None = None
) -> None:
    """One observation: level, theme, date, member, commune and the member's text; `numbers`
    (kind, text) says whether the published figures agree (dashboard.components.signals)."""
    theme = label({"label_fr": row["theme_label_fr"], "label_en": row["theme_label_en"]}, lang)
    with st.container(border=True):
        meta = t("field.card_meta", date=fmt_date(row["obs_date"], lang), member=row["member_name"])
        st.markdown(
            f"{level_badge(row['niveau'])} :gray-badge[{md_escape(theme)}]  \n{md_escape(meta)}"
        )
        st.markdown(md_escape(row["texte"]))
        if show_commune:
            commune = row.get("commune_name") or t("field.card_no_commune")
            st.caption(t("field.card_commune", commune=commune))
        if numbers is not None:
            kind, text = numbers
            badge = AGREEMENT_BADGES.get(kind, "gray")
            short = t(f"signals.agree_badge.{kind}")
            st.markdown(f":{badge}-badge[:material/query_stats: {short}] {md_escape(text)}")


MAX_MONTHLY_SPAN = 18  # months; a longer period is counted by quarter so bars stay readable


def _bucket(feed: pl.DataFrame) -> str:
    first, last = feed["obs_date"].min(), feed["obs_date"].max()
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    return "1mo" if months <= MAX_MONTHLY_SPAN else "1q"


def _bucket_label(start: dt.date, bucket: str, lang: str) -> str:
    if bucket == "1mo":
        return f"{start:%m.%Y}"
    quarter = (start.month - 1) // 3 + 1
    return f"{'Q' if lang == 'en' else 'T'}{quarter} {start.year}"


def counts_over_time(feed: pl.DataFrame, level: str | None) -> tuple[pl.DataFrame, str]:
    """Observations per month (or quarter) and theme, every bucket in between kept with zeros."""
    chosen = feed if level is None else feed.filter(pl.col("niveau") == level)
    schema = {"start": pl.Date, "theme": pl.String, "label": pl.String, "n": pl.UInt32}
    if chosen.is_empty():
        return pl.DataFrame(schema=schema), "1mo"
    bucket = _bucket(feed)
    label_column = "theme_label_en" if current_language() == "en" else "theme_label_fr"
    counts = (
        chosen.with_columns(pl.col("obs_date").dt.truncate(bucket).alias("start"))
        .group_by("start", "theme", pl.col(label_column).alias("label"))
        .agg(pl.len().alias("n"))
    )
    starts = pl.date_range(
        feed["obs_date"].min(), feed["obs_date"].max(), interval=bucket, eager=True
    ).dt.truncate(bucket)
    grid = pl.DataFrame({"start": starts.unique().sort()}).join(
        counts.select("theme", "label").unique(), how="cross"
    )
    filled = (
        grid.join(counts, on=["start", "theme", "label"], how="left")
        .with_columns(pl.col("n").fill_null(0))
        .sort("start", "label")
    )
    return filled, bucket


def alerts_chart(feed: pl.DataFrame, level: str | None) -> go.Figure | None:
    """Stacked bars: observations of `level` (None = all levels) per period, a colour per theme."""
    counts, bucket = counts_over_time(feed, level)
    if counts.is_empty():
        return None
    lang = current_language()
    fig = go.Figure()
    themes = counts.group_by("label").agg(pl.col("n").sum()).sort("n", descending=True)
    for index, theme in enumerate(themes["label"].to_list()):
        part = counts.filter(pl.col("label") == theme)
        fig.add_trace(
            go.Bar(
                x=[_bucket_label(start, bucket, lang) for start in part["start"].to_list()],
                y=part["n"].to_list(),
                name=theme,
                marker_color=colour(index),
                hovertemplate=f"{theme}<br>%{{x}} : %{{y}}<extra></extra>",
            )
        )
    level_text = t(f"field.level.{level}") if level else t("field.all_levels")
    x_title = t("field.chart_x") if bucket == "1mo" else t("field.chart_x_quarter")
    fig.update_layout(
        barmode="stack",
        height=360,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        separators=separators(),
        legend={"orientation": "h", "y": -0.25},
        # Titles kept clear of the tick labels (the y title overlapped them).
        yaxis={
            "title": {"text": t("field.chart_y", level=level_text.lower()), "standoff": 12},
            "rangemode": "tozero",
            "automargin": True,
            "tickformat": "d",
        },
        xaxis={"title": {"text": x_title, "standoff": 12}, "type": "category", "automargin": True},
    )
    return fig


def alerts_summary(counts: pl.DataFrame, level: str | None) -> str:
    """« 42 observations (alerte) ; la plupart en aide alimentaire (17) ; le plus en 03.2025 (9). »"""
    total = int(counts["n"].sum())
    if not total:
        return t("field.chart_none")
    by_theme = (
        counts.group_by("label").agg(pl.col("n").sum()).sort("n", "label", descending=[True, False])
    )
    by_period = counts.group_by("start").agg(pl.col("n").sum()).sort("n", "start", descending=True)
    return t(
        "field.chart_summary",
        total=fmt_int(total),
        level=(t(f"field.level.{level}") if level else t("field.all_levels")).lower(),
        theme=by_theme["label"][0],
        theme_n=fmt_int(by_theme["n"][0]),
        period=by_period["start"][0].strftime("%m.%Y"),
        period_n=fmt_int(by_period["n"][0]),
    )


def show_alerts_chart(feed: pl.DataFrame, level: str | None, key: str, title: str) -> None:
    fig = alerts_chart(feed, level)
    if fig is None:
        st.info(t("field.chart_none"))
        return
    counts, _ = counts_over_time(feed, level)
    table = counts.filter(pl.col("n") > 0).select(
        pl.col("start").alias(t("field.col_period_start")),
        pl.col("label").alias(t("field.filter_theme")),
        pl.col("n").alias(t("field.col_count")),
    )
    spec = takeaway.Takeaway(
        title=title,
        summary=alerts_summary(counts, level),
        data=table,
        source=t("field.source"),
        years=charts.years_text([d.year for d in counts["start"].to_list()]),
        notes=[t("field.chart_caption")],
    )
    takeaway.show(fig, spec, key=key, heading=False, view_param="vue")


def latest_observations(ofs: int, n: int = 5) -> None:
    """The `n` most recent public observations about commune `ofs` (for the commune brief)."""
    lang = current_language()
    st.subheader(t("field.latest_title"), divider="gray")
    latest = data.run("observations_latest_commune", ofs=int(ofs), n=int(n))
    if latest.is_empty():
        st.caption(t("field.latest_none"))
        return
    for row in latest.iter_rows(named=True):
        observation_card(row, lang, show_commune=False)
    # Outside the app's navigation (a test, an export) there is no page to link to.
    with contextlib.suppress(StreamlitAPIException):
        st.page_link(
            "views/remontees.py",
            label=t("field.latest_link"),
            icon=":material/campaign:",
            query_params={"commune": str(ofs)},
        )


def period_bounds(choice: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """'tout' -> open; '12m' -> the last 365 days; '2025' -> that calendar year."""
    if choice == "12m":
        return today - dt.timedelta(days=365), today
    if choice.isdigit():
        year = int(choice)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    return None, None
