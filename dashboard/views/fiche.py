"""Fiche communale: one commune against the canton, printable and exportable (DESIGN §5, §7).

The commune lives in the URL (?commune=6621, an OFS number; a name is accepted and rewritten).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import brief_export, data, state
from dashboard.components import banner, charts, needs, needs_text, observations, signals, spine
from dashboard.components.needs_text import ESTIMATED_MARK
from dashboard.i18n import fmt_int, t
from etl.text import normalise_key
from etl.vocabulary import ESTIMATED_POPULATION

DEFAULT_COMMUNE = 6621  # Genève
STATIC_SERVICE_ROWS = 100  # more services: a scrolling grid instead of a static table
COMMUNE_PARAM = "commune"

# Print: only the brief itself (no sidebar, menus, filters or buttons), charts kept whole.
PRINT_CSS = """
<style>
@media print {
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"], [data-testid="stDownloadButton"],
  [data-testid="stSelectbox"], [data-testid="stAlert"], .stDeployButton,
  [data-testid="stElementToolbar"] { display: none !important; }
  [data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: 100% !important; }
  [data-testid="stPlotlyChart"], [data-testid="stTable"] { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
}
</style>
"""


def accept_commune_name(names: dict[int, str]) -> None:
    """?commune=Carouge (or an alias spelling of the name) becomes ?commune=6608."""
    raw = st.query_params.get(COMMUNE_PARAM)
    if raw is None or raw.isdigit():
        return
    by_key = {normalise_key(name): ofs for ofs, name in names.items()}
    ofs = by_key.get(normalise_key(raw))
    if ofs is not None:
        st.query_params[COMMUNE_PARAM] = str(ofs)


def spine_chart(rows: list[spine.SpineRow], *, neutral: bool, source: str, years: str, key: str):
    left = t("fiche.spine_left_neutral" if neutral else "fiche.spine_left")
    right = t("fiche.spine_right_neutral" if neutral else "fiche.spine_right")
    legend = brief_export.THEME_LEGEND if neutral else brief_export.INDICATOR_LEGEND
    st.markdown(needs_text.legend_html(legend), unsafe_allow_html=True)
    charts.show_chart(
        spine.figure(rows, left_label=left, right_label=right),
        source=source,
        years=years,
        notes=[t("fiche.legend")],
        key=key,
    )


def table(rows: list[dict[str, str]]) -> None:
    """A static table: it prints in full, unlike the scrolling data grid."""
    if rows:
        st.table(pl.DataFrame(rows), hide_index=True)


def indicators_section(brief: needs.CommuneBrief) -> None:
    st.header(t("fiche.indicators_title"), divider="gray")
    rows = brief_export.indicator_spine(brief)
    years = charts.years_text(brief.indicators["value_year"].to_list())
    if rows:
        spine_chart(
            rows, neutral=False, source=t("needs.source_indicators"), years=years, key="fiche_spine"
        )
    table(brief_export.indicator_table(brief))
    st.caption(t("fiche.indicators_note"))


def themes_section(brief: needs.CommuneBrief) -> None:
    st.header(t("fiche.themes_title", year=brief.year), divider="gray")
    if brief.themes.is_empty():
        st.info(t("fiche.themes_none", year=brief.year))
        return
    rows = brief_export.theme_spine(brief)
    if rows:
        spine_chart(
            rows,
            neutral=True,
            source=t("needs.source_activity"),
            years=str(brief.year),
            key="fiche_themes_spine",
        )
    table(brief_export.theme_table(brief))
    st.caption(
        " · ".join(
            [
                t("fiche.themes_note"),
                brief_export.neighbours_note(brief),
                t("needs.double_count"),
                t("needs.estimated_mark"),
            ]
        )
    )


def trend_section(brief: needs.CommuneBrief) -> None:
    st.header(t("fiche.trend_title"), divider="gray")
    trend = brief.trend
    if trend.is_empty():
        st.info(t("common.no_activity"))
        return
    years = trend["year"].to_list()
    estimated = trend["population_estimated"].to_list()
    fig = charts.line_chart(
        [
            charts.Series(
                t("fiche.trend_commune", name=brief.name), years, trend["rate"].to_list(), estimated
            ),
            charts.Series(t("fiche.trend_canton"), years, trend["canton_rate"].to_list()),
            charts.Series(
                t("fiche.trend_unmet", name=brief.name),
                years,
                trend["unmet_rate"].to_list(),
                estimated,
            ),
        ],
        y_title=t("fiche.trend_axis"),
        height=380,
        y_format=",.1~f",  # rates: a small commune's axis runs 0, 0.5, 1… (",d" rounded 0.5 to 1)
    )
    charts.show_chart(
        fig,
        source=t("needs.source_activity"),
        years=charts.years_text(years),
        notes=[t("common.chart.estimated_marker"), t("needs.double_count")],
        key="fiche_trend",
    )
    table(brief_export.trend_table(brief))


def services_section(brief: needs.CommuneBrief) -> None:
    st.header(t("fiche.services_title"), divider="gray")
    rows = brief_export.services_table(brief)
    if not rows:
        st.info(t("fiche.services_none"))
        return
    if len(rows) <= STATIC_SERVICE_ROWS:
        table(rows)
    else:
        # Thousands of rows (the whole canton's services serve every commune at 30× the demo) took
        # the browser half a minute to lay out as a static table; the grid draws only what shows.
        st.caption(t("fiche.services_many", n=fmt_int(len(rows))))
        st.dataframe(pl.DataFrame(rows), hide_index=True, key="fiche_services")
    st.caption(t("common.chart.source", source=t("needs.source_services")))


def downloads(brief: needs.CommuneBrief, has_demo: bool) -> None:
    html = brief_export.render_html(brief, has_demo=has_demo, generated_at=dt.datetime.now())
    stem = brief_export.file_stem(brief)
    html_column, pdf_column = st.columns(2)
    html_column.download_button(
        t("fiche.download_html"),
        data=html.encode("utf-8"),
        file_name=f"{stem}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        help=t("fiche.download_help"),
        key="fiche_download_html",
    )
    if brief_export.chromium_path() is None:
        pdf_column.caption(t("fiche.pdf_unavailable"))
        return
    # Printed only when clicked: Chromium takes a second or two.
    pdf_column.download_button(
        t("fiche.download_pdf"),
        data=lambda: brief_export.render_pdf(html),
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
        key="fiche_download_pdf",
    )


# --- page -------------------------------------------------------------------------------------------

info = data.db_info()
communes = data.communes()
names = dict(zip(communes["ofs_number"].to_list(), communes["name"].to_list(), strict=True))
accept_commune_name(names)
st.markdown(PRINT_CSS, unsafe_allow_html=True)

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
st.title(t("fiche.title", name=brief.name))
population_line = brief_export.population_text(brief)
if brief.population_status in ESTIMATED_POPULATION:
    population_line += f" {ESTIMATED_MARK}"
st.caption(population_line)
banner.freshness_caption(info)
st.markdown(t("fiche.intro", year=year))
downloads(brief, info.has_demo)
st.caption(t("fiche.print_hint"))

indicators_section(brief)
themes_section(brief)
trend_section(brief)
signals.commune_signals(ofs_number)
services_section(brief)
observations.latest_observations(ofs_number, 5)
