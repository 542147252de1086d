"""Administration › Bulletin: the secretariat produces the quarterly bulletin (same code as
`observatoire bulletin`, from the public file only) and downloads its PDF, HTML and charts."""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard import bulletin
from dashboard.brief_export import chromium_path
from dashboard.components import signals
from dashboard.components import signals_text as words
from dashboard.i18n import LANGUAGES, current_language, t
from etl.errors import UserError

_STATE = "_admin_bulletin"


@dataclass(frozen=True)
class Produced:
    stem: str
    pdf: bytes
    html: bytes
    charts: bytes  # ZIP of every chart as SVG and PNG


def produce(db_path: Path, code: str, lang: str) -> Produced:
    """Write the bulletin of `db_path`'s public file in a temporary folder, keep its files in
    memory."""
    with tempfile.TemporaryDirectory(prefix="bulletin-") as folder:
        files = bulletin.write_bulletin(db_path, code, lang, Path(folder))
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as charts:
            for path in files.charts:
                charts.write(path, path.name)
        return Produced(
            files.html.stem, files.pdf.read_bytes(), files.html.read_bytes(), archive.getvalue()
        )


def downloads(produced: Produced) -> None:
    pdf, html, charts = st.columns(3)
    pdf.download_button(
        t("admin.bulletin_pdf"),
        produced.pdf,
        file_name=f"{produced.stem}.pdf",
        mime="application/pdf",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
        key="admin_bulletin_pdf",
    )
    html.download_button(
        t("admin.bulletin_html"),
        produced.html,
        file_name=f"{produced.stem}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        key="admin_bulletin_html",
    )
    charts.download_button(
        t("admin.bulletin_charts"),
        produced.charts,
        file_name=f"{produced.stem}-graphiques.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/bar_chart:",
        key="admin_bulletin_charts",
    )


def bulletin_tab(db_path: Path) -> None:
    """`db_path`: the published database, whose public file alone the bulletin reads."""
    st.markdown(t("admin.bulletin_intro"))
    known = signals.quarters()
    if known.is_empty():
        st.info(t("signals.none_quarter", required=words.RULE.min_history))
        return
    if chromium_path() is None:
        st.warning(t("admin.bulletin_no_chromium"), icon=":material/warning:")
        return
    lang = current_language()
    choice, language = st.columns([2, 1])
    code = choice.selectbox(
        t("admin.bulletin_quarter"),
        [words.period_code(period) for period in known["period"].to_list()],
        format_func=lambda c: words.quarter_label(*words.parse_quarter_code(c), lang),
        key="admin_bulletin_quarter",
    )
    bulletin_lang = language.radio(
        t("admin.bulletin_language"),
        LANGUAGES,
        format_func=lambda c: t(f"common.language_name.{c}", lang=c),
        horizontal=True,
        key="admin_bulletin_language",
    )
    if st.button(
        t("admin.bulletin_make"), type="primary", icon=":material/newspaper:", key="admin_bulletin"
    ):
        with st.spinner(t("admin.bulletin_working")):
            try:
                st.session_state[_STATE] = produce(db_path, code, bulletin_lang)
            except UserError as error:
                st.error(str(error), icon=":material/error:")
    produced = st.session_state.get(_STATE)
    if produced is not None:
        st.success(t("admin.bulletin_ready", name=produced.stem), icon=":material/check_circle:")
        downloads(produced)
