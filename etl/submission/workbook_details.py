"""What the Excel reader does not say about a worksheet, read from the workbook's XML: hidden sheets,
rows and columns (data the member does not see), formulas without a stored result, and error cells
(#DIV/0!, #N/A…), which reach the reader as empty cells.

Called once `workbook_guard.check_workbook` has accepted the archive (sizes are then bounded).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from xml.parsers import expat

from etl.submission.workbook_guard import WORKBOOK_PART, _attributes_of, _sheet_titles

FORMULA_WITHOUT_RESULT = re.compile(
    rb"<c\s[^>]*?\br\s*=\s*[\"']\$?([A-Za-z]{1,3}\$?\d{1,7})[\"'][^>]*>\s*"
    rb"<f(?:\s[^>]*)?(?:/>|>([^<]*)</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>"
)
# Error cells (t="e": #DIV/0!, #N/A…) reach the reader as empty cells; their text is in <v>.
ERROR_TYPE = re.compile(rb"\bt\s*=\s*[\"']e[\"']")
ERROR_CELL = re.compile(rb"<c\s([^>]*?\bt\s*=\s*[\"']e[\"'][^>]*)>(.*?)</c>", re.S)
CELL_POSITION = re.compile(rb"\br\s*=\s*[\"']([A-Za-z$]{1,4}\$?\d{1,7})[\"']")
VALUE = re.compile(rb"<v>([^<]{1,40})</v>")
HIDDEN = re.compile(rb"\bhidden\s*=\s*[\"'](?:1|true)[\"']")
ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*>")
ROW_NUMBER = re.compile(rb"\br\s*=\s*[\"'](\d{1,7})[\"']")
COLUMN_TAG = re.compile(rb"<(?:\w+:)?col\b[^>]*>")
COLUMN_MIN = re.compile(rb"\bmin\s*=\s*[\"'](\d{1,5})[\"']")
COLUMN_MAX = re.compile(rb"\bmax\s*=\s*[\"'](\d{1,5})[\"']")


@dataclass
class SheetDetails:
    """What the Excel reader does not tell about a worksheet, read from its XML.

    Positions are 1-based, as in Excel. Hidden rows and columns, and hidden sheets, may hold data the
    member does not see; error cells (#DIV/0!…) reach the reader as empty cells.
    """

    hidden: bool = False  # the sheet's state is hidden or veryHidden
    very_hidden: bool = False  # veryHidden: Excel's « Afficher » does not list it
    formulas_without_result: list[tuple[str, str]] = field(default_factory=list)
    error_cells: list[tuple[str, str]] = field(default_factory=list)  # (cell, '#DIV/0!')
    hidden_rows: list[int] = field(default_factory=list)
    hidden_columns: list[tuple[int, int]] = field(default_factory=list)  # (first, last)

    def column_is_hidden(self, number: int) -> bool:
        return any(first <= number <= last for first, last in self.hidden_columns)


def sheet_details(data: bytes) -> dict[str, SheetDetails]:
    """Per sheet title: state, hidden rows and columns, formulas without result, error cells.

    Each worksheet part is read once, and searched only for what it contains (most parts hold no
    formula, no error and nothing hidden). Call it once `check_workbook` has passed.
    """
    archive = zipfile.ZipFile(io.BytesIO(data))
    titles = _sheet_titles(archive)
    details = {title: SheetDetails() for title in titles.values()}
    for title, state in _sheet_states(archive).items():
        sheet = details.setdefault(title, SheetDetails())
        sheet.hidden = state in ("hidden", "veryHidden")
        sheet.very_hidden = state == "veryHidden"
    for part in archive.namelist():
        if part.startswith("xl/worksheets/") and part.endswith(".xml"):
            _read_sheet_details(
                archive.read(part), details.setdefault(titles.get(part, part), SheetDetails())
            )
    return details


def _read_sheet_details(xml: bytes, sheet: SheetDetails) -> None:
    if b"<f" in xml:
        sheet.formulas_without_result = [
            (cell.decode().upper(), (formula or b"").decode("utf-8", errors="replace"))
            for cell, formula in FORMULA_WITHOUT_RESULT.findall(xml)
        ]
    if ERROR_TYPE.search(xml):
        for attributes, content in ERROR_CELL.findall(xml):
            reference, value = CELL_POSITION.search(attributes), VALUE.search(content)
            if reference and value:
                sheet.error_cells.append(
                    (reference.group(1).decode().upper().replace("$", ""), value.group(1).decode())
                )
    if b"hidden" in xml:
        sheet.hidden_rows = _hidden_rows(xml)
        sheet.hidden_columns = [
            _column_range(tag) for tag in COLUMN_TAG.findall(xml) if HIDDEN.search(tag)
        ]


def _column_range(tag: bytes) -> tuple[int, int]:
    first, last = COLUMN_MIN.search(tag), COLUMN_MAX.search(tag)
    start = int(first.group(1)) if first else 1
    return start, int(last.group(1)) if last else start


def _hidden_rows(xml: bytes) -> list[int]:
    """Rows marked hidden (hidden by hand, by a filter or a collapsed group); a row without its
    number follows the previous one, as in the reader."""
    hidden, number = [], 0
    for tag in ROW_TAG.finditer(xml):
        position = ROW_NUMBER.search(tag.group(0))
        number = int(position.group(1)) if position else number + 1
        if HIDDEN.search(tag.group(0)):
            hidden.append(number)
    return hidden


def _sheet_states(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> state ('visible', 'hidden' or 'veryHidden') from xl/workbook.xml."""
    try:
        sheets = _attributes_of(archive.read(WORKBOOK_PART), "sheet")
    except (KeyError, zipfile.BadZipFile, zlib.error, expat.ExpatError, OSError):
        return {}
    return {sheet.get("name", ""): sheet.get("state", "visible") for sheet in sheets}
