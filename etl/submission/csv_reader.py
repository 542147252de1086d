"""Parsing a member's CSV (the activity sheet alone): encodings, the header line, Polars' parse, and
what is wrong with the file's structure when Polars refuses it (csv_structure.py).
"""

from __future__ import annotations

import polars as pl

from etl.submission import csv_structure
from etl.submission.columns import ACTIVITY, INTEGER
from etl.submission.raw import RawFile, RawSheet
from etl.submission.sheet_layout import HEADER_SEARCH_ROWS, is_header


def without_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def from_windows_1252(data: bytes) -> bytes:
    """What Excel writes on Windows when it is not told to use UTF-8."""
    return data.decode("cp1252", errors="replace").encode("utf-8")


def looks_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a character cut at the end of the sample
    return True


def parse_csv(
    data: bytes,
    separator: str,
    counts: dict[str, pl.DataType] | None = None,
    n_rows: int | None = None,
    *,
    drop_empty_extra_values: bool = False,
) -> pl.DataFrame:
    """Parse a CSV body (header line first); a line with more values than titles raises, unless
    the caller checked that its extra values are all empty (csv_structure.long_lines)."""
    return pl.read_csv(
        data,
        separator=separator,
        infer_schema=False,
        schema_overrides=counts,
        n_rows=n_rows,
        truncate_ragged_lines=drop_empty_extra_values,
        raise_if_empty=False,
    )


def parse_from_header(raw: RawFile, data: bytes) -> tuple | str | None:
    """(frame, header line, its index, separator); 'not utf-8'; or None with the issue raised."""
    head_lines = (
        data[: 64 * 1024].decode("utf-8", errors="replace").splitlines()[:HEADER_SEARCH_ROWS]
    )
    header = find_csv_header(head_lines)
    if header is None:
        raw.issue(
            "activite",
            "Ligne des titres de colonnes introuvable dans les "
            f"{HEADER_SEARCH_ROWS} premières lignes du fichier CSV. La première ligne doit "
            "contenir les titres : membre, periode, theme, commune, personnes…",
        )
        return None
    index, separator = header
    body = data[line_offset(data, index) :]
    try:
        frame = parse_csv(body, separator)
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower():
            return "not utf-8"
        frame = _parse_irregular_csv(raw, body, separator, index + 1)
    except pl.exceptions.PolarsError:
        frame = _parse_irregular_csv(raw, body, separator, index + 1)
    if frame is None or _swallowed_lines(raw, frame, body, separator, index + 1):
        return None
    return frame, head_lines[index], index, separator


def _parse_irregular_csv(
    raw: RawFile, body: bytes, separator: str, header_row: int
) -> pl.DataFrame | None:
    """After the parser refused the file: report the lines with too many values or the quote
    never closed (None), or read it again when the only extra values are empty ones."""
    text = body.decode("utf-8", errors="replace")
    checked = csv_structure.long_lines(text, separator, header_row)
    if checked is not None and checked[0]:
        lines = checked[0]
        for line in lines[: csv_structure.MAX_LINES_REPORTED]:
            message = csv_structure.long_line_message(line, separator)
            raw.issue("activite", message, row=line.row, value=line.text)
        if len(lines) > csv_structure.MAX_LINES_REPORTED:
            raw.issue("activite", csv_structure.more_long_lines_message(len(lines)))
        return None
    quote = csv_structure.unclosed_quote(text, header_row)
    if quote is not None:
        raw.issue("activite", csv_structure.UNCLOSED_QUOTE, row=quote[0], value=quote[1])
        return None
    if checked is not None:  # extra values, all empty: nothing is lost by dropping them
        try:
            return parse_csv(body, separator, drop_empty_extra_values=True)
        except pl.exceptions.PolarsError:
            pass
    raw.issue("activite", csv_structure.IRREGULAR)
    return None


def values_span_lines(frame: pl.DataFrame, body: bytes, separator: str) -> bool:
    """Whether a value holds a line break and a separator: lines swallowed by a stray quote."""
    if b'"' not in body or frame.height == 0:
        return False
    spans_lines = pl.any_horizontal(
        pl.col(pl.String).str.contains("\n", literal=True)
        & pl.col(pl.String).str.contains(separator, literal=True)
    )
    return bool(frame.select(spans_lines.any()).item())


def _swallowed_lines(
    raw: RawFile, frame: pl.DataFrame, body: bytes, separator: str, header_row: int
) -> bool:
    """A quote opened and closed lines later makes one value of several lines (no activity value
    spans lines): reported as the quote never closed. Checked only when the file has quotes."""
    if not values_span_lines(frame, body, separator):
        return False
    quote = csv_structure.unclosed_quote(body.decode("utf-8", errors="replace"), header_row)
    message, row, value = csv_structure.UNCLOSED_QUOTE, *(quote or (None, None))
    raw.issue("activite", message if quote else csv_structure.IRREGULAR, row=row, value=value)
    return True


COUNT_COLUMNS = frozenset(column.name for column in ACTIVITY.columns if column.kind == INTEGER)


PLAIN_COUNTS_SAMPLE_ROWS = 1000


def csv_activity_sheet(raw: RawFile, sheet: RawSheet | None) -> None:
    """Keep a CSV file's activity sheet if it names the member and the period on every line."""
    if sheet is None:
        return
    for required in ("membre", "periode"):
        if required not in sheet.headers:
            raw.issue(
                "activite",
                f"Colonne « {required} » absente : un fichier CSV doit indiquer "
                f"le membre et la période sur chaque ligne. {ACTIVITY.column(required).help_fr}",
                row=sheet.header_row,
                column=required,
            )
    if "membre" in sheet.headers and "periode" in sheet.headers:
        raw.sheets["activite"] = sheet


def find_csv_header(lines: list[str]) -> tuple[int, str] | None:
    for index, line in enumerate(lines):
        separator = max([";", ",", "\t"], key=line.count)
        if line.count(separator) == 0:
            continue
        if is_header(csv_header_cells(line, separator), ACTIVITY):
            return index, separator
    return None


def csv_header_cells(line: str, separator: str) -> list[str]:
    return [cell.strip().strip('"').strip() for cell in line.split(separator)]


def line_offset(data: bytes, line_index: int) -> int:
    offset = 0
    for _ in range(line_index):
        offset = data.index(b"\n", offset) + 1
    return offset
