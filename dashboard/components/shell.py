"""The page shell every page shares: its style sheet (layout, focus, phone and print rules) and its
script (the page's language for screen readers, the charts' image downloads).

Both are files beside the app: the style as an inline <style> (the site's CSP allows inline styles),
the script served from app/static/ (the CSP allows scripts from the site only, not inline ones).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import streamlit as st

from dashboard.components import profile

STYLE_SHEET = Path(__file__).resolve().parent.parent / "shell.css"
SCRIPT_URL = "app/static/takeaway.js"


def install(lang: str) -> None:
    """Add the shell's style and script to this run of the page."""
    # The brief's profile tables look the same on the page and in the exported file.
    st.html(f"<style>{STYLE_SHEET.read_text(encoding='utf-8')}{profile.PROFILE_CSS}</style>")
    st.html(
        f'<span data-shell-lang="{escape(lang)}" hidden></span>'
        f'<script src="{SCRIPT_URL}"></script>',
        unsafe_allow_javascript=True,
    )
