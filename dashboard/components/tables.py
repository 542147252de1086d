"""Tables: formatted, index hidden, full width."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from etl.text import printable

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


def printable_texts(frame: pl.DataFrame, *, keep_lines: tuple[str, ...] = ()) -> pl.DataFrame:
    """The frame with every text cell made safe to show (control and bidi characters written as
    codes): texts from members' files may hold them. `keep_lines`: columns keeping line breaks."""
    return frame.with_columns(
        pl.col(name).map_elements(
            lambda text, keep=name in keep_lines: printable(text, keep_lines=keep),
            return_dtype=pl.String,
        )
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )
