"""Field observations (« remontées du terrain »): cards, the alerts chart, the commune brief's list.

Everything here reads PUBLIC observations only (`public.observations` of the public file, where the
members' `public = non` observations never arrive).
"""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data
from dashboard.components.charts import PLOTLY_CONFIG, colour, separators
from dashboard.components.directory import md_escape
from dashboard.i18n import current_language, fmt_date, label, t

LEVELS = ("information", "vigilance", "alerte")
LEVEL_BADGES = {"information": "blue", "vigilance": "orange", "alerte": "red"}


def level_badge(level: str) -> str:
    return f":{LEVEL_BADGES.get(level, 'gray')}-badge[{t(f'field.level.{level}')}]"


def observation_card(row: dict, lang: str, *, show_commune: bool = True) -> None:
    """One observation: level, theme, date, member, commune and the member's text."""
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


def monthly_counts(feed: pl.DataFrame, level: str | None) -> pl.DataFrame:
    """Observations per month and theme (all months between the first and the last, zeros kept)."""
    chosen = feed if level is None else feed.filter(pl.col("niveau") == level)
    if chosen.is_empty():
        return pl.DataFrame(
            schema={"month": pl.Date, "theme": pl.String, "label": pl.String, "n": pl.UInt32}
        )
    lang = current_language()
    label_column = "theme_label_en" if lang == "en" else "theme_label_fr"
    counts = (
        chosen.with_columns(pl.col("obs_date").dt.truncate("1mo").alias("month"))
        .group_by("month", "theme", pl.col(label_column).alias("label"))
        .agg(pl.len().alias("n"))
    )
    months = pl.date_range(
        counts["month"].min(), counts["month"].max(), interval="1mo", eager=True
    ).alias("month")
    grid = pl.DataFrame(months).join(counts.select("theme", "label").unique(), how="cross")
    return (
        grid.join(counts, on=["month", "theme", "label"], how="left")
        .with_columns(pl.col("n").fill_null(0))
        .sort("month", "label")
    )


def alerts_chart(feed: pl.DataFrame, level: str | None) -> go.Figure | None:
    """Stacked bars: observations of `level` (None = all levels) per month, one colour per theme."""
    counts = monthly_counts(feed, level)
    if counts.is_empty():
        return None
    fig = go.Figure()
    themes = counts.group_by("label").agg(pl.col("n").sum()).sort("n", descending=True)
    for index, theme in enumerate(themes["label"].to_list()):
        part = counts.filter(pl.col("label") == theme)
        fig.add_trace(
            go.Bar(
                x=part["month"].to_list(),
                y=part["n"].to_list(),
                name=theme,
                marker_color=colour(index),
                hovertemplate=f"{theme}<br>%{{x|%m.%Y}} : %{{y}}<extra></extra>",
            )
        )
    level_text = t(f"field.level.{level}") if level else "—"
    fig.update_layout(
        barmode="stack",
        height=380,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        separators=separators(),
        legend={"orientation": "h", "y": -0.2},
        yaxis={"title": t("field.chart_y", level=level_text.lower()), "rangemode": "tozero"},
        xaxis={"title": t("field.chart_x"), "tickformat": "%m.%Y"},
    )
    return fig


def show_alerts_chart(feed: pl.DataFrame, level: str | None, key: str) -> None:
    fig = alerts_chart(feed, level)
    if fig is None:
        st.info(t("field.chart_none"))
        return
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG)
    st.caption(t("field.chart_caption"))


def latest_observations(ofs: int, n: int = 5) -> None:
    """The `n` most recent public observations about commune `ofs` (for the commune brief)."""
    lang = current_language()
    st.subheader(t("field.latest_title"))
    latest = data.run("observations_latest_commune", ofs=int(ofs), n=int(n))
    if latest.is_empty():
        st.caption(t("field.latest_none"))
        return
    for row in latest.iter_rows(named=True):
        observation_card(row, lang, show_commune=False)
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
