"""Every chart can be taken away (DESIGN §7), the way Our World in Data's grapher does it.

One component draws a chart with what a reader needs to quote it: a title, one sentence saying what
it shows (also the chart's text alternative for screen readers), the figure or its table (a switch,
kept in the URL), its source line, and two menus: « Télécharger » (PNG and SVG drawn in the browser
by plotly.js, the chart's data as CSV) and « Citer » (title, source, database version and date, the
address of this view).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components.charts import PLOTLY_CONFIG, chart_caption
from dashboard.i18n import fmt_date, t
from etl import exports
from etl.text import normalise_key

VIEWS = ("graphique", "tableau")
CSV_ENCODING = "utf-8-sig"  # with a BOM: Excel opens accents right


@dataclass(frozen=True)
class Takeaway:
    """What a chart says about itself.

    `data` holds the chart's figures with columns already named for readers (the CSV and the table
    view); `summary` is one sentence that a reader who cannot see the chart needs.
    """

    title: str
    summary: str
    data: pl.DataFrame
    source: str
    years: str
    notes: Sequence[str] = ()
    column_config: dict[str, Any] = field(default_factory=dict)


def file_stem(title: str) -> str:
    """'Personnes servies — Aide alimentaire, 2024' -> 'personnes-servies-aide-alimentaire-2024'."""
    return re.sub(r"[^a-z0-9]+", "-", normalise_key(title)).strip("-")[:80] or "graphique"


def page_address() -> str:
    """This view's address: the page and its filters (the URL reproduces the view)."""
    base = str(st.context.url or "")
    query = urlencode(
        [(name, value) for name in st.query_params for value in st.query_params.get_all(name)]
    )
    return f"{base}?{query}" if base and query else base


def citation(title: str, source: str, release: exports.Release, url: str, today: dt.date) -> str:
    """« CAPAS, Observatoire social. « title ». Source … Version … du …. URL (consulté le …). »"""
    return t(
        "common.takeaway.citation",
        title=title,
        source=source,
        version=release.version,
        date=fmt_date(release.published_at),
        url=url,
        today=fmt_date(today),
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    return frame.write_csv().encode(CSV_ENCODING)


def _plotly_text(text: str) -> str:
    """Plotly reads a few HTML tags in titles: « < » must stay text."""
    return escape(text, quote=False)


def image_buttons(chart_key: str, spec: Takeaway) -> None:
    """PNG and SVG buttons: takeaway.js redraws the chart with its title and source, in the browser."""
    release = exports.release(data.run)
    credit = t(
        "common.takeaway.credit", version=release.version, date=fmt_date(release.published_at)
    )
    note = f"{chart_caption(spec.source, spec.years)} · {credit}"
    common = (
        f'data-takeaway-chart="{escape(chart_key)}" '
        f'data-takeaway-title="{escape(_plotly_text(spec.title))}" '
        f'data-takeaway-note="{escape(_plotly_text(note))}" '
        f'data-takeaway-file="{escape(file_stem(spec.title))}"'
    )
    st.html(
        '<div class="takeaway-buttons">'
        f'<button type="button" data-takeaway-format="png" {common}>'
        f"{escape(t('common.takeaway.png'))}</button>"
        f'<button type="button" data-takeaway-format="svg" {common}>'
        f"{escape(t('common.takeaway.svg'))}</button></div>"
    )


def _download_menu(key: str, spec: Takeaway, as_chart: bool) -> None:
    with st.popover(t("common.takeaway.download"), icon=":material/download:"):
        if as_chart:
            image_buttons(key, spec)
        else:
            st.caption(t("common.takeaway.images_from_chart"))
        st.download_button(
            t("common.takeaway.csv"),
            data=csv_bytes(spec.data),
            file_name=f"{file_stem(spec.title)}.csv",
            mime="text/csv",
            on_click="ignore",
            icon=":material/table_view:",
            key=f"{key}_csv",
        )
        st.caption(t("common.takeaway.csv_help"))


def _cite_menu(spec: Takeaway) -> None:
    with st.popover(t("common.takeaway.cite"), icon=":material/format_quote:"):
        text = citation(
            spec.title,
            spec.source,
            exports.release(data.run),
            page_address(),
            dt.date.today(),
        )
        st.code(text, language=None, wrap_lines=True)
        st.caption(t("common.takeaway.cite_help"))


# Longer than 60 lines: one chart's take-away block in the order it is shown (view
# switch, drawing or table, downloads, citation, text alternative); the parts share its key and view.
def show(
    fig: go.Figure,
    spec: Takeaway,
    *,
    key: str,
    view_param: str | None = None,
    draw: Callable[[go.Figure], Any] | None = None,
    table: Callable[[], None] | None = None,
    heading: bool = True,
    summary_container: Any = None,
) -> Any:
    """Title, summary, chart or table, source line and the take-away menus. Returns what `draw`
    returns (a map's click), None in the table view.

    `summary_container`: where the summary sentence goes (default: under the title).
    `view_param`: the URL parameter of the chart / table switch (no switch without it); `table`
    draws the table view (default: the data as a grid); `draw` draws the figure (default:
    st.plotly_chart with the chart's text alternative).
    """
    head = st.container(
        key=f"takeaway_head_{key}", horizontal=True, vertical_alignment="center", gap="small"
    )
    if heading:
        head.markdown(f"#### {spec.title}", width="stretch")
    else:
        head.space("stretch")
    # The switch and the menus wrap together: beside the title when there is room, else all on the
    # line under it (not split across two lines).
    controls = head.container(
        key=f"takeaway_controls_{key}",
        horizontal=True,
        vertical_alignment="center",
        gap="small",
        width="content",
    )
    # The summary sits under the title, or where the page puts it (beside a tall map).
    (summary_container or st).markdown(
        f'<p class="takeaway-summary">{escape(spec.summary)}</p>', unsafe_allow_html=True
    )
    view = "graphique"
    if view_param is not None:
        view = state.select(
            view_param,
            VIEWS,
            default="graphique",
            # Hidden, but the switch's accessible name: it names its chart (a page may have two).
            label=t("common.takeaway.view", title=spec.title),
            format_func=lambda code: t(f"common.takeaway.view_{code}"),
            widget="segmented_control",
            container=controls,
            label_visibility="collapsed",
        )
    result = None
    if view == "graphique":
        if draw is None:
            st.plotly_chart(
                fig, config=chart_config(spec), key=key, alt=f"{spec.title}. {spec.summary}"
            )
        else:
            result = draw(fig)
    elif table is not None:
        table()
    else:
        st.dataframe(
            spec.data, hide_index=True, column_config=spec.column_config, key=f"{key}_table"
        )
    st.caption(chart_caption(spec.source, spec.years, spec.notes))
    with controls:
        _download_menu(key, spec, view == "graphique")
        _cite_menu(spec)
    return result


def chart_config(spec: Takeaway) -> dict:
    """Plotly's config: the camera button saves a PNG named after the chart."""
    return {
        **PLOTLY_CONFIG,
        "toImageButtonOptions": {"format": "png", "filename": file_stem(spec.title), "scale": 2},
    }
