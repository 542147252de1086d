"""Banners shown above every page."""

from __future__ import annotations

import streamlit as st

from dashboard.data import DatabaseInfo
from dashboard.i18n import fmt_datetime, t


def demo_banner(info: DatabaseInfo) -> None:
    """A visible warning when the database holds demonstration rows (DESIGN §2)."""
    if info.has_demo:
        # A slim bar (shell.css): said on every page without pushing the answer below the fold.
        with st.container(key="demo_banner"):
            st.warning(t("common.demo_banner"), icon=":material/science:")


def freshness_caption(info: DatabaseInfo) -> None:
    """One line in the sidebar, on every page: date of the last load."""
    st.sidebar.caption(t("common.last_load", date=fmt_datetime(info.last_load_at)))
