"""Tables: formatted, index hidden, full width."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import polars as pl
import streamlit as st

from dashboard.i18n import DEFAULT_LANGUAGE
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
        st.caption(plain(caption))


def show_text_table(
    frame: pl.DataFrame, headers: dict[str, str], caption: str | None = None
) -> None:
    """A static table for long texts (definitions, messages, names): cells wrap instead of being
    cut at the grid's column width, and the table prints whole. `headers`: column -> header."""
    st.table(frame.select(list(headers)).rename(headers), hide_index=True)
    if caption:
        st.caption(plain(caption))


def plain(text: str) -> str:
    """Text shown through Markdown, read as written: a leading « * » (a footnote mark) stays a star
    instead of becoming a list bullet."""
    return "\\" + text if text[:1] in "*-+#>" else text


FICHE_PATH = "fiche-communale"


def brief_link(ofs_number: int, lang: str) -> str:
    """The relative address of a commune's brief, in the reader's language."""
    suffix = "" if lang == DEFAULT_LANGUAGE else f"&lang={lang}"
    return f"{FICHE_PATH}?commune={int(ofs_number)}{suffix}"


def commune_link_table(
    rows: Sequence[dict], columns: dict[str, str], *, lang: str, caption: str | None = None
) -> None:
    """An HTML table whose commune names link to their brief: the map's keyboard path.

    `rows` have `ofs_number`, `name` and the keys of `columns` (key -> header), already formatted.
    Plain links in a real table: reachable with Tab, read by screen readers, printed in full.
    """
    head = "".join(f'<th scope="col">{escape(header)}</th>' for header in columns.values())
    body = []
    for row in rows:
        cells = []
        for key in columns:
            if key == "name":
                link = escape(brief_link(row["ofs_number"], lang))
                cells.append(
                    f'<th scope="row"><a href="{link}" target="_self">{escape(str(row[key]))}</a></th>'
                )
            else:
                cells.append(f"<td>{escape(str(row[key]))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    st.html(
        f'<div class="link-table"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    if caption:
        st.caption(plain(caption))


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
