"""Tables: formatted, index hidden, full width."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

ROW_HEIGHT = 35  # pixels, Streamlit's default row height
MAX_ROWS_SHOWN = 25


def show_table(
    frame: pl.DataFrame,
    *,
    column_config: dict[str, Any] | None = None,
    caption: str | None = None,
    key: str | None = None,
    height: int | str = "auto",
) -> None:
    """A read-only table with translated column headers (via column_config) and its caption.

    Up to MAX_ROWS_SHOWN rows are shown whole, without an inner scroll bar.
    """
    if height == "auto" and frame.height <= MAX_ROWS_SHOWN:
        height = ROW_HEIGHT * (frame.height + 1) + 3
    st.dataframe(
        frame,
        hide_index=True,
        column_config=column_config,
        column_order=list(column_config) if column_config else None,
        key=key,
        height=height,
    )
    if caption:
        st.caption(caption)
