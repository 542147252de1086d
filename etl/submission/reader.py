"""Read a member's file (.xlsx workbook or .csv activity sheet) into text frames located as in Excel.

Every value is read as text and parsed later (validate.py), so a number typed as text, a date or an
OFS number all arrive the same way. Rows keep the number the member sees in Excel (`_row`).
What is unambiguous is tidied here: a title above the header, merged cells (the value is copied
into every cell of the range), blank rows, "Total" rows, the template's example row, trailing
spaces, headers in any case, order or accentuation. The work is in workbook_reader.py (Excel),
csv_reader.py (CSV) and sheet_layout.py (finding the table in a sheet).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
from pathlib import Path

import polars as pl

from etl.submission.columns import ACTIVITY, canonical_column
from etl.submission.csv_reader import (
    COUNT_COLUMNS,
    PLAIN_COUNTS_SAMPLE_ROWS,
    csv_activity_sheet,
    csv_header_cells,
    find_csv_header,
    from_windows_1252,
    line_offset,
    looks_utf8,
    parse_csv,
    parse_from_header,
    values_span_lines,
    without_bom,
)
from etl.submission.raw import ROW, Cell, Grid, RawFile, RawSheet
from etl.submission.sheet_layout import HEADER_SEARCH_ROWS, data_sheet
from etl.submission.workbook_reader import cell_position as _cell_position  # noqa: F401 (tests)
from etl.submission.workbook_reader import read_workbook

__all__ = ["ROW", "Cell", "RawFile", "RawSheet", "read_file"]


EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}


def read_file(path: Path, data: bytes | None = None) -> RawFile:
    """Read one submission file; problems that stop reading are returned as issues, not raised."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    # The checksum of a large file is computed beside the parsing (hashlib releases the GIL).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        raw = RawFile(path.name, "", kind="csv")
        _read_data(raw, path, data)
        raw.sha256 = digest.result()
    return raw


def _read_data(raw: RawFile, path: Path, data: bytes) -> None:
    suffix = path.suffix.lower()
    if not data:
        raw.issue(
            "—",
            "Le fichier est vide (0 octet). Vérifiez que vous envoyez le bon fichier, "
            "enregistré depuis Excel.",
        )
    elif suffix in EXCEL_SUFFIXES:
        raw.kind = "xlsx"
        read_workbook(raw, data)
    elif suffix in CSV_SUFFIXES:
        _read_csv(raw, data)
    else:
        raw.issue(
            "—",
            f"Format de fichier non pris en charge ({suffix or 'sans extension'}). Envoyez le "
            "classeur Excel du modèle (.xlsx) ou la feuille activité au format CSV (.csv). "
            "Un ancien fichier .xls ou .ods peut être enregistré au format .xlsx depuis Excel "
            "ou LibreOffice (Fichier > Enregistrer sous).",
        )


def _read_csv(raw: RawFile, data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, Excel's « Texte Unicode »
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    data = without_bom(data)
    if not looks_utf8(data[: 64 * 1024]):
        data = from_windows_1252(data)
    if b"\n" not in data and b"\r" in data:  # lines ended by CR alone (old Mac): unambiguous
        data = data.replace(b"\r", b"\n")
    if _read_csv_with_plain_counts(raw, data):
        return
    parsed = parse_from_header(raw, data)
    if parsed == "not utf-8":  # the first bytes were UTF-8, a later line is not
        parsed = parse_from_header(raw, from_windows_1252(data))
    if not isinstance(parsed, tuple):
        return
    frame, header_line, index, separator = parsed
    frame = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns)})
    headers = pl.DataFrame(
        [
            pl.Series(f"c{i}", [name], dtype=pl.String)
            for i, name in enumerate(csv_header_cells(header_line, separator))
        ]
    )
    frame = pl.concat([headers, frame], how="diagonal") if frame.width else headers
    # Not stripped here: a million rows are tidied column by column on their distinct values
    # (tidy_csv_columns), and counts with spaces are cleaned when parsed.
    grid = Grid(frame, [None] * frame.width)  # no column letters in a CSV file
    csv_activity_sheet(raw, data_sheet(raw, ACTIVITY, "activite", grid, first_row=index + 1))


def _read_csv_with_plain_counts(raw: RawFile, data: bytes) -> bool:
    """The common large file, fast: its counts read as Int32 by the CSV parser itself.

    Only when every count is a plain whole number from 0 to 2'147'483'647 and `personnes` is
    never empty; anything else (a thousands separator, a text, a negative or missing number, a
    header the parser reads differently, a line that is not UTF-8) returns False without any
    issue, and the file is read again as text, where every rule and message applies as usual.
    On the values accepted here, both ways give the same numbers, rows and issues.
    """
    head_lines = (
        data[: 64 * 1024].decode("utf-8", errors="replace").splitlines()[:HEADER_SEARCH_ROWS]
    )
    header = find_csv_header(head_lines)
    if header is None:
        return False
    index, separator = header
    cells = csv_header_cells(head_lines[index], separator)
    canonical = [canonical_column(ACTIVITY, cell) for cell in cells]
    named = [name for name in canonical if name is not None]
    if len(named) != len(set(named)) or "personnes" not in named:
        return False
    body = data[line_offset(data, index) :]
    try:
        names = parse_csv(body, separator, n_rows=0).columns
        if len(names) != len(cells):
            return False
        counts = {names[i]: pl.Int32 for i, name in enumerate(canonical) if name in COUNT_COLUMNS}
        parse_csv(body, separator, counts, n_rows=PLAIN_COUNTS_SAMPLE_ROWS)  # fails early
        frame = parse_csv(body, separator, counts)
    except pl.exceptions.PolarsError:
        return False
    if any((frame[name].min() or 0) < 0 for name in counts):
        return False
    if values_span_lines(frame, body, separator):
        return False  # a stray quote: reported by the text path
    frame = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns)})
    attempt = RawFile(raw.file_name, raw.sha256, raw.kind)
    grid = Grid(frame, [None] * frame.width)
    sheet = data_sheet(attempt, ACTIVITY, "activite", grid, index + 1, header=tuple(cells))
    if sheet is None or sheet.frame["personnes"].null_count():
        return False  # a missing count is reported with the text written in the cell
    csv_activity_sheet(attempt, sheet)
    raw.issues.extend(attempt.issues)
    raw.sheets.update(attempt.sheets)
    return True
