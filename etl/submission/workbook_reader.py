"""Read an .xlsx workbook into text grids: checked first (workbook_guard), then read with calamine
(fastexcel); merged cells filled, Excel's error values put back, the sheets the template names
located (accents and case free), hidden sheets, rows and columns with data refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

import fastexcel
import polars as pl

from etl.submission import hidden_content, workbook_details, workbook_guard
from etl.submission.columns import (
    ACTIVITY,
    IDENTIFICATION,
    SHEETS,
    canonical_column,
    canonical_sheet,
    column_letter,
)
from etl.submission.raw import Cell, Grid, RawFile
from etl.submission.sheet_layout import data_sheet

MAX_FORMULAS_REPORTED = 20
UNREADABLE = (
    "Le fichier n'est pas un classeur Excel lisible (.xlsx). Ouvrez-le dans Excel et "
    "enregistrez-le à nouveau au format « Classeur Excel (.xlsx) »."
)


@dataclass
class _Workbook:
    """An open workbook and what its XML says of each sheet (merges, hidden, error cells)."""

    reader: fastexcel.ExcelReader
    merges: dict[str, list[tuple[int, int, int, int]]]
    details: dict[str, workbook_details.SheetDetails]

    def details_of(self, title: str) -> workbook_details.SheetDetails:
        return self.details.get(title) or workbook_details.SheetDetails()

    def grid(self, title: str) -> Grid:
        return sheet_grid(
            self.reader, title, self.merges.get(title, []), self.details_of(title).error_cells
        )


def read_workbook(raw: RawFile, data: bytes) -> None:
    """The template's sheets of a workbook into `raw` (problems as its issues)."""
    book = _open(raw, data)
    if book is None:
        return
    found: dict[str, str] = {}  # canonical sheet -> its title in the file
    for title in book.reader.sheet_names:
        canonical = canonical_sheet(title)
        if canonical is not None:
            _read_sheet(raw, book, title, canonical, found)
    if ACTIVITY.name not in found and not raw.issues:
        names = ", ".join(f"« {name} »" for name in book.reader.sheet_names)
        raw.issue(
            "—",
            f"Feuille « activite » introuvable (feuilles du fichier : {names}). "
            "Utilisez le modèle de la CAPAS ou renommez la feuille des chiffres « activite ».",
        )


def _open(raw: RawFile, data: bytes) -> _Workbook | None:
    try:  # first, so that a hostile archive never reaches the native reader (workbook_guard.py)
        workbook_guard.check_workbook(data)
    except workbook_guard.WorkbookRefused as refused:
        raw.issue("—", str(refused))
        return None
    try:
        reader = fastexcel.read_excel(data)
    except Exception:  # noqa: BLE001 — any reading failure means the same thing to the member
        raw.issue("—", UNREADABLE)
        return None
    return _Workbook(reader, _merged_ranges(data), workbook_details.sheet_details(data))


def _read_sheet(
    raw: RawFile, book: _Workbook, title: str, canonical: str, found: dict[str, str]
) -> None:
    details = book.details_of(title)
    if details.hidden:  # never read; refused if it holds data
        if not _is_empty_or_unreadable(book, title):
            hidden_content.report_hidden_sheet(raw, title, book.reader.sheet_names, book.details)
        return
    if canonical in found:
        raw.issue(
            title,
            f"Deux feuilles correspondent à « {canonical} » : « {found[canonical]} » "
            f"et « {title} ». Gardez-en une seule.",
        )
        return
    found[canonical] = title
    try:
        grid = book.grid(title)
    except Exception:  # noqa: BLE001 — a sheet the Excel reader cannot decode
        raw.issue(
            title,
            f"La feuille « {title} » est illisible (contenu endommagé ou non standard). "
            "Ouvrez le fichier dans Excel et enregistrez-le à nouveau au format « Classeur "
            "Excel (.xlsx) ».",
        )
        return
    _report_formulas(raw, title, details.formulas_without_result)
    if canonical == IDENTIFICATION.name:
        raw.identification_title = title
        raw.identification = _read_identification(grid)
        hidden_content.report_hidden_identification(raw, title, details)
    elif canonical == ACTIVITY.name or not is_empty(grid):  # an empty optional sheet: none
        sheet = data_sheet(raw, SHEETS[canonical], title, grid, first_row=1)
        if sheet is not None:
            raw.sheets[canonical] = sheet
            hidden_content.report_hidden_cells(raw, sheet, details)


def _is_empty_or_unreadable(book: _Workbook, title: str) -> bool:
    try:
        return is_empty(book.grid(title))
    except Exception:  # noqa: BLE001 — unreadable: it is reported as hidden all the same
        return False


def _report_formulas(raw: RawFile, title: str, cells: list[tuple[str, str]]) -> None:
    for cell, formula in cells[:MAX_FORMULAS_REPORTED]:
        raw.issue(
            title,
            f"La cellule {cell} contient une formule (={formula}) dont le résultat n'est pas "
            "enregistré dans le fichier (fichier produit par un programme, jamais ouvert dans "
            "Excel). Ouvrez-le dans Excel ou LibreOffice et enregistrez-le, ou remplacez la "
            "formule par sa valeur.",
            row=cell_position(cell)[0] + 1,
            value=f"={formula}",
            cell=cell,
        )


def sheet_grid(
    reader: fastexcel.ExcelReader,
    title: str,
    merges: list[tuple[int, int, int, int]],
    error_cells: list[tuple[str, str]] = (),
) -> Grid:
    sheet = reader.load_sheet(title, header_row=None, dtypes="string", skip_rows=0)
    frame = sheet.to_polars()
    absolute = [info.absolute_index for info in sheet.available_columns()]
    frame = frame.rename(
        {name: f"c{index}" for name, index in zip(frame.columns, absolute, strict=True)}
    )
    frame = frame.with_columns(pl.all().str.strip_chars()).with_columns(
        pl.when(pl.all().str.len_chars() > 0).then(pl.all()).name.keep()
    )
    frame = _with_error_values(frame, error_cells)
    frame = _fill_merged(frame, merges)
    return Grid(frame, [column_letter(int(name[1:])) for name in frame.columns])


def is_empty(grid: Grid) -> bool:
    return (
        grid.frame.width == 0
        or grid.frame.null_count().sum_horizontal()[0] == grid.frame.width * grid.frame.height
    )


def _merged_ranges(data: bytes) -> dict[str, list[tuple[int, int, int, int]]]:
    """Merged ranges per sheet title, as (first_row, first_col, last_row, last_col), 0-based."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    result: dict[str, list[tuple[int, int, int, int]]] = {}
    for sheet in workbook.iter():
        if not sheet.tag.endswith("}sheet"):
            continue
        rel_id = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
        target = targets.get(rel_id, "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        try:
            xml = archive.read(part).decode("utf-8", errors="replace")
        except KeyError:
            continue
        refs = re.findall(r"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+\d+):([A-Z]+\d+)\"", xml)
        result[sheet.get("name", "")] = [(*cell_position(a), *cell_position(b)) for a, b in refs]
    return {
        name: [(r1, c1, r2, c2) for r1, c1, r2, c2 in ranges] for name, ranges in result.items()
    }


def cell_position(reference: str) -> tuple[int, int]:
    """'C12' -> (11, 2), 0-based row and column."""
    letters, digits = re.match(r"([A-Z]+)(\d+)", reference).groups()
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - ord("A") + 1
    return int(digits) - 1, column - 1


def _with_error_values(frame: pl.DataFrame, error_cells: list[tuple[str, str]]) -> pl.DataFrame:
    """Put Excel's error values (#DIV/0!, #N/A…) back into their cells: the reader gives them as
    empty cells, and an empty count would be reported as missing instead of as a broken formula."""
    if not error_cells:
        return frame
    positions = [(*cell_position(reference), value) for reference, value in error_cells]
    height = max(frame.height, *(row + 1 for row, _column, _value in positions))
    if height > frame.height:
        frame = frame.extend(pl.DataFrame(schema=frame.schema).clear(height - frame.height))
    missing = {f"c{column}" for _row, column, _value in positions} - set(frame.columns)
    frame = frame.with_columns(pl.lit(None, pl.String).alias(name) for name in missing)
    columns: dict[str, list] = {}
    for row, column, value in positions:
        columns.setdefault(f"c{column}", frame[f"c{column}"].to_list())[row] = value
    ordered = sorted(frame.columns, key=lambda name: int(name[1:]))
    return frame.with_columns(
        pl.Series(name, values, dtype=pl.String) for name, values in columns.items()
    ).select(ordered)


def _fill_merged(frame: pl.DataFrame, merges: list[tuple[int, int, int, int]]) -> pl.DataFrame:
    """Copy a merged range's value into each of its cells (a merged theme covers all its rows)."""
    if not merges or frame.height == 0:
        return frame
    columns = {int(name[1:]): name for name in frame.columns}
    touched: dict[str, list] = {}
    for first_row, first_col, last_row, last_col in merges:
        anchor_name = columns.get(first_col)
        if anchor_name is None or first_row >= frame.height:
            continue
        anchor = touched.setdefault(anchor_name, frame[anchor_name].to_list())[first_row]
        for col in range(first_col, last_col + 1):
            name = columns.get(col)
            if name is None:
                continue
            values = touched.setdefault(name, frame[name].to_list())
            for row in range(first_row, min(last_row, frame.height - 1) + 1):
                values[row] = anchor
    return frame.with_columns(
        pl.Series(name, values, dtype=pl.String) for name, values in touched.items()
    )


def _read_identification(grid: Grid) -> dict[str, Cell]:
    """`membre`, `periode`, `contact`, `date_envoi` written as label | value, or as a small table."""
    rows = grid.frame.head(60).rows()
    labels: dict[tuple[int, int], str] = {}
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            canonical = canonical_column(IDENTIFICATION, value)
            if canonical is not None:
                labels[(r, c)] = canonical
    found: dict[str, Cell] = {}
    for (r, c), canonical in labels.items():
        if canonical in found:
            continue
        same_row_labels = sum(1 for (r2, _c2) in labels if r2 == r)
        if same_row_labels > 1:  # a table: the values are on the next non-empty row
            below = next((r2 for r2 in range(r + 1, len(rows)) if any(rows[r2])), None)
            value = rows[below][c] if below is not None else None
            found[canonical] = Cell(value, (below or r) + 1, grid.letters[c])
        else:  # label | value: the next cell to the right (a merged label repeats itself)
            right = next(
                (c2 for c2 in range(c + 1, len(rows[r])) if rows[r][c2] != rows[r][c]), None
            )
            value = rows[r][right] if right is not None else None
            letter = grid.letters[right] if right is not None else _next_letter(grid.letters[c])
            found[canonical] = Cell(value, r + 1, letter)
    return found


def _next_letter(letter: str | None) -> str | None:
    if letter is None:
        return None
    index = 0
    for char in letter:
        index = index * 26 + ord(char) - ord("A") + 1
    return column_letter(index)
