"""Fiche communale: one commune against the canton, a two-page profile (DESIGN §5, §7).

The model is Fingertips' area profile: a headline sentence generated from the figures, then one row
per indicator and per theme with its value, interval, canton value, comparison in colour and spine
chart on the same line; the trend with one axis per magnitude; services counted per theme with a
link to Qui fait quoi. The page prints (Ctrl+P) and exports (HTML, PDF) on at most three A4 pages.

The commune lives in the URL (?commune=6621, an OFS number; a name is accepted and rewritten).
"""

from __future__ import annotations

import datetime as dt
from html import escape

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from plotly.subplots import make_subplots

from dashboard import brief_export, data, state
from dashboard.components import (
    charts,
    needs,
    needs_text,
    observations,
    profile,
    signals,
    takeaway,
)
from dashboard.derived_cache import per_data_version
from dashboard.i18n import DEFAULT_LANGUAGE, current_language, fmt_date, fmt_int, in_language, t
from etl import exports
from etl.text import normalise_key

DEFAULT_COMMUNE = 6621  # Genève
COMMUNE_PARAM = "commune"
DIRECTORY_PATH = "qui-fait-quoi"
TREND_HEIGHT = 250


def accept_commune_name(names: dict[int, str]) -> None:
    """?commune=Carouge (or an alias spelling of the name) becomes ?commune=6608."""
    raw = st.query_params.get(COMMUNE_PARAM)
    if raw is None or raw.isdigit():
        return
    by_key = {normalise_key(name): ofs for ofs, name in names.items()}
    ofs = by_key.get(normalise_key(raw))
    if ofs is not None:
        st.query_params[COMMUNE_PARAM] = str(ofs)


def directory_link(ofs_number: int, absolute: bool = False) -> str:
    """Qui fait quoi filtered to the commune (services located there or serving it)."""
    lang = current_language()
    link = f"{DIRECTORY_PATH}?commune={ofs_number}"
    if lang != DEFAULT_LANGUAGE:
        link += f"&lang={lang}"
    if absolute:
        base = str(st.context.url or "").rsplit("/", 1)[0]
        return f"{base}/{link}" if base else link
    return link


def legend(categories: tuple[str, ...]) -> None:
    st.markdown(
        f'<p class="profile-legend">{needs_text.legend_html(categories)}</p>',
        unsafe_allow_html=True,
    )


def indicators_section(brief: needs.CommuneBrief) -> None:
    st.subheader(t("fiche.indicators_title"), divider="gray")
    st.html(profile.indicators_html(brief))
    legend(brief_export.INDICATOR_LEGEND)
    st.caption(f"{t('fiche.legend')} {t('fiche.indicators_note')}")


def themes_section(brief: needs.CommuneBrief) -> None:
    st.subheader(t("fiche.themes_title", year=brief.year), divider="gray")
    if brief.themes.is_empty():
        st.info(t("fiche.themes_none", year=brief.year))
        return
    st.html(profile.themes_html(brief))
    legend(brief_export.THEME_LEGEND)
    st.caption(
        " · ".join(
            [
                t("fiche.themes_note"),
                t("fiche.gap_note"),
                brief_export.neighbours_note(brief),
                t("needs.double_count"),
            ]
            + ([note] if (note := profile.estimate_note(brief)) else [])
        )
    )


def trend_figure(brief: needs.CommuneBrief) -> go.Figure:
    """Persons per 1,000 (commune and canton) on the left, unmet requests per 1,000 on the right:
    one axis each, since unmet requests (about 1 per 1,000) lay flat at zero on the axis of persons
    served (hundreds per 1,000)."""
    trend = brief.trend
    years = trend["year"].to_list()
    estimated = trend["population_estimated"].to_list()
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.14,
        subplot_titles=(t("fiche.trend_axis"), t("fiche.trend_unmet_axis")),
    )
    lines = [
        (t("fiche.trend_commune_short", name=brief.name), trend["rate"].to_list(), estimated, 1),
        (t("fiche.trend_canton_short"), trend["canton_rate"].to_list(), None, 1),
        (
            t("fiche.trend_commune_short", name=brief.name),
            trend["unmet_rate"].to_list(),
            estimated,
            2,
        ),
    ]
    for index, (name, values, flags, column) in enumerate(lines):
        colour = charts.colour(0 if column == 2 else index)
        fig.add_trace(
            go.Scatter(
                x=years,
                y=values,
                name=name,
                mode="lines+markers",
                showlegend=column == 1,
                line={"color": colour, "dash": "dash" if index == 1 else "solid"},
                marker={
                    "size": 7,
                    "color": colour,
                    "symbol": [
                        "circle-open" if f else "circle" for f in (flags or [False] * len(years))
                    ],
                },
                hovertemplate="%{x} : %{y:,.1f}<extra>%{fullData.name}</extra>",
            ),
            row=1,
            col=column,
        )
    fig.update_yaxes(rangemode="tozero", tickformat=",.1~f")
    fig.update_xaxes(dtick=1, tickformat="d")
    fig.update_annotations(font={"size": 12})
    fig.update_layout(
        height=TREND_HEIGHT,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        separators=charts.separators(),
        legend={"orientation": "h", "y": -0.2, "x": 0},
    )
    return fig


def trend_data(brief: needs.CommuneBrief) -> pl.DataFrame:
    trend = brief.trend
    return pl.DataFrame(
        {
            t("fiche.col_year"): trend["year"],
            t("fiche.trend_commune", name=brief.name): trend["rate"],
            t("fiche.trend_canton"): trend["canton_rate"],
            t("fiche.trend_unmet", name=brief.name): trend["unmet_rate"],
            t("besoins.csv.estimated"): trend["population_estimated"],
        }
    )


def trend_summary(brief: needs.CommuneBrief) -> str:
    """« Genève : 207,6 pour 1 000 en 2024 (2019 : 133,4) ; canton … ; demandes non satisfaites … »."""
    trend = brief.trend.sort("year")
    items = []
    for name, column in (
        (brief.name, "rate"),
        (t("fiche.trend_canton_short"), "canton_rate"),
        (t("fiche.trend_unmet_short"), "unmet_rate"),
    ):
        points = [(r["year"], r[column]) for r in trend.to_dicts() if r[column] is not None]
        if points:
            items.append(
                t(
                    "fiche.trend_item",
                    name=name,
                    last=needs_text.rate(points[-1][1]),
                    last_year=points[-1][0],
                    first=needs_text.rate(points[0][1]),
                    first_year=points[0][0],
                )
            )
    separator = " ; " if current_language() == "fr" else "; "
    return separator.join(items) + "." if items else t("common.no_activity")


def trend_section(brief: needs.CommuneBrief) -> None:
    st.subheader(t("fiche.trend_title"), divider="gray")
    if brief.trend.is_empty():
        st.info(t("common.no_activity"))
        return
    years = charts.years_text(brief.trend["year"].to_list())
    spec = takeaway.Takeaway(
        title=t("fiche.trend_chart_title", name=brief.name, years=years),
        summary=trend_summary(brief),
        data=trend_data(brief),
        source=t("needs.source_activity"),
        years=years,
        notes=[t("common.chart.estimated_marker"), t("needs.double_count")],
    )
    takeaway.show(trend_figure(brief), spec, key="fiche_trend", heading=False)


@per_data_version  # counted once per publication, commune, year and language (#19)
def services_by_theme(ofs_number: int, year: int, lang: str) -> list[dict]:
    """brief_export.services_by_theme of the commune's brief: a pass over every service serving
    it (the canton's thousands at 30× the demo), the same for every visitor."""
    with in_language(lang):
        return brief_export.services_by_theme(needs.load_commune_brief(ofs_number, year))


def services_section(brief: needs.CommuneBrief) -> None:
    st.subheader(t("fiche.services_title"), divider="gray")
    rows = services_by_theme(brief.ofs_number, brief.year, current_language())
    if not rows:
        st.info(t("fiche.services_none"))
        return
    st.html(
        tables_html(
            [t("fiche.col_theme"), t("fiche.col_located"), t("fiche.col_serving")],
            [[row["theme"], fmt_int(row["located"]), fmt_int(row["serving"])] for row in rows],
        )
    )
    st.markdown(
        t(
            "fiche.services_link",
            n=fmt_int(brief.services.height),
            url=directory_link(brief.ofs_number),
        )
    )


def tables_html(headers: list[str], rows: list[list[str]]) -> str:
    return f'<div class="link-table">{brief_export.plain_table(headers, rows)}</div>'


def downloads(brief: needs.CommuneBrief, has_demo: bool) -> None:
    release = exports.release(data.run)
    directory_url = directory_link(brief.ofs_number, absolute=True)
    lang = current_language()

    def html() -> str:
        # Built when a button is clicked, not at every run (a sixth of the page's CPU, #19): on a
        # server thread outside the visitor's run, hence the language passed in.
        with in_language(lang):
            return brief_export.render_html(
                brief,
                has_demo=has_demo,
                generated_at=dt.datetime.now(),
                directory_url=directory_url,
                version=release.version,
            )

    stem = brief_export.file_stem(brief)
    bar = st.container(horizontal=True, gap="small", key="fiche_downloads")
    bar.download_button(
        t("fiche.download_pdf"),
        data=lambda: brief_export.render_pdf(html()),
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
        key="fiche_download_pdf",
        disabled=brief_export.chromium_path() is None,
        help=None if brief_export.chromium_path() else t("fiche.pdf_unavailable"),
    )
    bar.download_button(
        t("fiche.download_html"),
        data=lambda: html().encode("utf-8"),
        file_name=f"{stem}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        help=t("fiche.download_help"),
        key="fiche_download_html",
    )
    bar.caption(t("fiche.print_hint"))


# --- page -------------------------------------------------------------------------------------------

info = data.db_info()
communes = data.communes()
names = dict(zip(communes["ofs_number"].to_list(), communes["name"].to_list(), strict=True))
accept_commune_name(names)

filters = st.columns([3, 1, 3])
ofs_number = state.select(
    COMMUNE_PARAM,
    list(names),
    default=DEFAULT_COMMUNE,
    label=t("fiche.commune"),
    format_func=lambda ofs: names.get(ofs, str(ofs)),
    container=filters[0],
)
years = list(reversed(info.years))
if not years:
    st.title(t("fiche.title", name=names[ofs_number]))
    st.info(t("common.no_activity"))
    st.stop()
year = state.select(
    "annee",
    years,
    default=info.latest_complete_year,
    label=t("fiche.year"),
    container=filters[1],
)

brief = needs.load_commune_brief(ofs_number, year)
# The brief reads like a document: one column as wide as an A4 page, so that what prints is what
# is seen (charts drawn wider than the paper were cut on the right by Ctrl+P).
with st.container(key="fiche_document"):
    st.title(t("fiche.title", name=brief.name))
    population_line = brief_export.population_text(brief)
    release = exports.release(data.run)
    st.caption(
        f"{population_line} · "
        + t("fiche.data_line", version=release.version, date=fmt_date(release.published_at))
    )
    downloads(brief, info.has_demo)
    st.markdown(
        f'<p class="fiche-headline">{escape(profile.headline(brief))}</p>', unsafe_allow_html=True
    )
    # « Ce qui a changé ce trimestre » (the signals of DESIGN §5) for this commune, under the
    # headline: what the quarter's figures say before the longer-term profile.
    with st.container(key="fiche_signals"):
        signals.commune_signals(ofs_number)
    indicators_section(brief)
    themes_section(brief)
    trend_section(brief)
    services_section(brief)
    observations.latest_observations(ofs_number, 3)
