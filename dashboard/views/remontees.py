"""Remontées du terrain: the members' PUBLIC field observations, filtered, searched and charted."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import observations as obs
from dashboard.components import signals, signals_text
from dashboard.i18n import current_language, fmt_int, label, t
from etl import exports
from etl.text import normalise_key

MAX_CARDS = 50
ALL_LEVELS = "tous"
# URL keys renamed so that each means one thing on every page (docs/ARCHITECTURE.md, « Naming »):
# on Données `niveau` is commune or canton and `periode` a period kind (as in the command line).
RENAMED_KEYS = {"niveau": "gravite", "periode": "dates"}


def period_options(first: dt.date, last: dt.date) -> list[str]:
    return ["tout", "12m", *[str(year) for year in range(last.year, first.year - 1, -1)]]


def period_label(choice: str) -> str:
    if choice == "tout":
        return t("field.period_all")
    if choice == "12m":
        return t("field.period_12m")
    return t("field.period_year", year=choice)


def filters(first: dt.date, last: dt.date) -> dict:
    lang = current_language()
    themes, communes = data.themes(), data.communes()
    theme_names = {row["code"]: label(row, lang) for row in themes.to_dicts()}
    commune_names = dict(zip(communes["ofs_number"], communes["name"], strict=True))
    st.subheader(t("field.filters"))
    with st.container(border=True):
        first_row = st.columns(3)
        chosen_themes = state.multiselect(
            "theme",
            list(theme_names),
            label=t("field.filter_theme"),
            format_func=lambda code: theme_names.get(code, code),
            placeholder=t("field.placeholder_all"),
            container=first_row[0],
        )
        chosen_communes = state.multiselect(
            "commune",
            list(commune_names),
            label=t("field.filter_commune"),
            format_func=lambda ofs: commune_names.get(ofs, str(ofs)),
            placeholder=t("field.placeholder_all"),
            container=first_row[1],
        )
        levels = state.multiselect(
            "gravite",
            obs.LEVELS,
            label=t("field.filter_level"),
            format_func=lambda level: t(f"field.level.{level}"),
            placeholder=t("field.placeholder_all"),
            container=first_row[2],
        )
        second_row = st.columns([1, 2])
        period = state.select(
            "dates",
            period_options(first, last),
            default="tout",
            label=t("field.filter_period"),
            format_func=period_label,
            container=second_row[0],
        )
        text = state.text(
            "q",
            label=t("field.filter_text"),
            placeholder=t("field.filter_text_placeholder"),
            container=second_row[1],
        )
    date_from, date_to = obs.period_bounds(period, dt.date.today())
    return {
        "themes": chosen_themes,
        "communes": chosen_communes,
        "levels": levels,
        "date_from": date_from,
        "date_to": date_to,
        "words": normalise_key(text).split(),
    }


def feed_cards(feed: pl.DataFrame, lang: str) -> None:
    # Each « vigilance » and « alerte » says whether the published figures agree (signals).
    lookup, last_period = signals.assessment_lookup()
    for row in feed.head(MAX_CARDS).iter_rows(named=True):
        agreement = signals_text.agreement(row, lookup, last_period)
        numbers = (agreement.kind, agreement.text) if agreement else None
        obs.observation_card(row, lang, numbers=numbers)
    if feed.height > MAX_CARDS:
        st.info(t("field.more", shown=MAX_CARDS, n=fmt_int(feed.height, lang)))


def export(feed: pl.DataFrame) -> None:
    frame = feed.select(
        pl.col("obs_date").alias("date"),
        pl.col("theme").alias("theme_code"),
        pl.col("theme_label_fr").alias("theme"),
        "niveau",
        pl.col("commune_name").alias("commune"),
        pl.col("ofs_number").alias("commune_ofs"),
        pl.col("member_name").alias("membre"),
        "texte",
        pl.col("is_demo").alias("demo"),
    )
    st.download_button(
        t("field.export_csv"),
        exports.to_csv(frame),  # the CSV of every download, members' formulas neutralised
        file_name=f"remontees-du-terrain-{dt.date.today().isoformat()}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="field_csv",
    )


state.follow_renamed(RENAMED_KEYS)
st.title(t("field.title"))
st.markdown(t("field.intro"))
signals.link(t("signals.all_link"), signals.SIGNALS_PAGE, {}, ":material/notifications_active:")
bounds = data.run("observations_date_range").row(0, named=True)
if not bounds["n"]:
    st.info(t("field.empty"))
    st.stop()

lang = current_language()
criteria = filters(bounds["first_date"], bounds["last_date"])
feed = data.run("observations_feed", **criteria)
st.markdown(t("field.count", n=fmt_int(feed.height, lang), total=fmt_int(bounds["n"], lang)))

chart_title = st.empty()
chart_level = state.select(
    "graphique",
    [*obs.LEVELS, ALL_LEVELS],
    default="alerte",
    label=t("field.chart_levels"),
    format_func=lambda level: (
        t("field.all_levels", lang=lang)
        if level == ALL_LEVELS
        else t(f"field.level.{level}", lang=lang)
    ),
    widget="segmented_control",
)
chart_level = None if chart_level in (None, ALL_LEVELS) else chart_level
chart_heading = t("field.chart_title" if chart_level == "alerte" else "field.chart_level_all")
chart_title.subheader(chart_heading)
obs.show_alerts_chart(feed, chart_level, "field_chart", chart_heading)

if feed.is_empty():
    st.warning(t("field.none_found"), icon=":material/search_off:")
else:
    feed_cards(feed, lang)
    export(feed)
