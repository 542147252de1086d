"""A minimal, fast .xlsx writer for the bulk of the demo workbooks.

xlsxwriter costs about 10 µs per cell, which made the demo's hundreds of workbooks the slowest step;
this writer emits the same Office Open XML parts (inline strings, numbers, merged cells) in about a
tenth of the time. Files written with xlsxwriter (shared strings, styles, real dates) are kept for the
"messy" members (see etl.demo.files), so the loader sees both kinds.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from etl.submission.columns import column_letter

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "{sheets}</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    "<sheets>{sheets}</sheets></workbook>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    "{rels}</Relationships>"
)
_SHEET_REL = (
    '<Relationship Id="rId{n}" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet{n}.xml"/>'
)
_SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData>{rows}</sheetData>{merges}</worksheet>"
)

Cell = str | int | float | None
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def _cell(reference: str, value: Cell) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        value = "oui" if value else "non"
    if isinstance(value, int | float):
        return f'<c r="{reference}"><v>{value}</v></c>'
    text = escape(str(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{reference}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


def sheet_xml(rows: list[list[Cell]], merges: list[str]) -> str:
    letters = [column_letter(i) for i in range(max((len(r) for r in rows), default=0))]
    body = []
    for number, row in enumerate(rows, start=1):
        cells = "".join(_cell(f"{letters[i]}{number}", value) for i, value in enumerate(row))
        if cells:
            body.append(f'<row r="{number}">{cells}</row>')
    merged = ""
    if merges:
        merged = (
            f'<mergeCells count="{len(merges)}">'
            + "".join(f'<mergeCell ref="{ref}"/>' for ref in merges)
            + "</mergeCells>"
        )
    return _SHEET.format(rows="".join(body), merges=merged)


def write_workbook(
    path: Path, sheets: dict[str, list[list[Cell]]], merges: dict[str, list[str]] | None = None
) -> None:
    """Write `sheets` (title -> rows of cells, row 1 first) as an .xlsx file."""
    merges = merges or {}
    names = list(sheets)
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES.format(
            sheets="".join(_SHEET_TYPE.format(n=n) for n in range(1, len(names) + 1))
        ),
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK.format(
            sheets="".join(
                f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
                for n, name in enumerate(names, start=1)
            )
        ),
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS.format(
            rels="".join(_SHEET_REL.format(n=n) for n in range(1, len(names) + 1))
        ),
    }
    for n, name in enumerate(names, start=1):
        parts[f"xl/worksheets/sheet{n}.xml"] = sheet_xml(sheets[name], merges.get(name, []))
    with zipfile.ZipFile(path, "w") as archive:
        for part, xml in parts.items():
            # A fixed timestamp: the same content gives the same bytes (deterministic demo).
            info = zipfile.ZipInfo(part, date_time=FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, xml, compresslevel=1)
