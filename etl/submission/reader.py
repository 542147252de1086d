"""Read a member's file (.xlsx workbook or .csv activity sheet) into text frames located as in Excel.

Every value is read as text and parsed later (validate.py), so a number typed as text, a date or an
OFS number all arrive the same way. Rows keep the number the member sees in Excel (`_row`).
What is unambiguous is tidied here: a title above the header, merged cells (the value is copied
into every cell of the range), blank rows, "Total" rows, the template's example row, trailing
spaces, headers in any case, order or accentuation.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import polars as pl

from etl.submission import csv_structure, workbook_details, workbook_guard
from etl.submission.columns import (
    ACTIVITY,
    IDENTIFICATION,
    INTEGER,
    SHEETS,
    Sheet,
    canonical_column,
    canonical_sheet,
    column_key,
    column_letter,
)
from etl.submission.results import ERROR, WARNING, Issue

ROW = "_row"  # the Excel row number of each data row
HEADER_SEARCH_ROWS = 30
MAX_FORMULAS_REPORTED = 20
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}
# Rows whose label cells start with these words are totals or the template's example: not data.
SKIPPED_ROW_PATTERN = r"(?i)^(total|sous[\s-]*total|somme|exemple)\b"


@dataclass(frozen=True)
class Cell:
    value: str | None
    row: int | None
    letter: str | None


@dataclass
class RawSheet:
    """One data sheet: canonical text columns plus `_row`."""

    name: str  # canonical sheet name
    title: str  # the sheet's name in the file
    frame: pl.DataFrame
    headers: dict[str, str]  # canonical column -> header as written
    letters: dict[str, str | None]  # canonical column -> Excel column letter
    header_row: int
    skipped_rows: int = 0
    # Distinct non-null values of text columns, when the reader already computed them (a CSV's
    # label columns), so that the validator does not hash a million rows again.
    distinct: dict[str, pl.Series] = field(default_factory=dict)


@dataclass
class RawFile:
    file_name: str
    sha256: str
    kind: str  # 'xlsx' or 'csv'
    identification: dict[str, Cell] = field(default_factory=dict)
    identification_title: str = "identification"
    sheets: dict[str, RawSheet] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def issue(
        self,
        sheet: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
        severity: str = ERROR,
        cell: str | None = None,
    ) -> None:
        self.issues.append(
            Issue(self.file_name, sheet, row, column, value, message, severity, cell)
        )


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
        _read_workbook(raw, data)
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


# ---------------------------------------------------------------- Excel workbooks


def _read_workbook(raw: RawFile, data: bytes) -> None:
    try:  # first, so that a hostile archive never reaches the native reader (workbook_guard.py)
        workbook_guard.check_workbook(data)
    except workbook_guard.WorkbookRefused as refused:
        raw.issue("—", str(refused))
        return
    try:
        reader = fastexcel.read_excel(data)
    except Exception:  # noqa: BLE001 — any reading failure means the same thing to the member
        raw.issue(
            "—",
            "Le fichier n'est pas un classeur Excel lisible (.xlsx). Ouvrez-le dans "
            "Excel et enregistrez-le à nouveau au format « Classeur Excel (.xlsx) ».",
        )
        return
    merges = _merged_ranges(data)
    details = workbook_details.sheet_details(data)
    found: dict[str, str] = {}
    for title in reader.sheet_names:
        canonical = canonical_sheet(title)
        if canonical is None:
            continue
        sheet_details = details.get(title) or workbook_details.SheetDetails()
        if sheet_details.hidden:
            _report_hidden_sheet(raw, reader, title, details, merges.get(title, []))
            continue
        if canonical in found:
            raw.issue(
                title,
                f"Deux feuilles correspondent à « {canonical} » : « {found[canonical]} » "
                f"et « {title} ». Gardez-en une seule.",
            )
            continue
        found[canonical] = title
        try:
            grid = _sheet_grid(reader, title, merges.get(title, []), sheet_details.error_cells)
        except Exception:  # noqa: BLE001 — a sheet the Excel reader cannot decode
            raw.issue(
                title,
                f"La feuille « {title} » est illisible (contenu endommagé ou non standard). "
                "Ouvrez le fichier dans Excel et enregistrez-le à nouveau au format « Classeur "
                "Excel (.xlsx) ».",
            )
            continue
        _report_formulas(raw, title, sheet_details.formulas_without_result)
        if canonical == IDENTIFICATION.name:
            raw.identification_title = title
            raw.identification = _read_identification(grid)
            _report_hidden_identification(raw, title, sheet_details)
        elif canonical != ACTIVITY.name and _is_empty(grid):
            continue  # an optional sheet left empty is the same as no sheet
        else:
            sheet = _data_sheet(raw, SHEETS[canonical], title, grid, first_row=1)
            if sheet is not None:
                raw.sheets[canonical] = sheet
                _report_hidden_cells(raw, sheet, sheet_details)
    if ACTIVITY.name not in found and not raw.issues:
        names = ", ".join(f"« {name} »" for name in reader.sheet_names)
        raw.issue(
            "—",
            f"Feuille « activite » introuvable (feuilles du fichier : {names}). "
            "Utilisez le modèle de la CAPAS ou renommez la feuille des chiffres « activite ».",
        )


def _report_formulas(raw: RawFile, title: str, cells: list[tuple[str, str]]) -> None:
    for cell, formula in cells[:MAX_FORMULAS_REPORTED]:
        raw.issue(
            title,
            f"La cellule {cell} contient une formule (={formula}) dont le résultat n'est pas "
            "enregistré dans le fichier (fichier produit par un programme, jamais ouvert dans "
            "Excel). Ouvrez-le dans Excel ou LibreOffice et enregistrez-le, ou remplacez la "
            "formule par sa valeur.",
            row=_cell_position(cell)[0] + 1,
            value=f"={formula}",
            cell=cell,
        )


def _report_hidden_sheet(
    raw: RawFile,
    reader: fastexcel.ExcelReader,
    title: str,
    details: dict[str, workbook_details.SheetDetails],
    merges: list[tuple[int, int, int, int]],
) -> None:
    """A hidden sheet named like a data sheet is never read: if it holds data, the file is refused
    (the member would not see the figures that are loaded: often an old copy of the sheet)."""
    try:
        empty = _is_empty(_sheet_grid(reader, title, merges, details[title].error_cells))
    except Exception:  # noqa: BLE001 — unreadable: say it is hidden all the same
        empty = False
    if empty:
        return
    visible = ", ".join(
        f"« {name} »"
        for name in reader.sheet_names
        if not (details.get(name) and details[name].hidden)
    )
    how = (
        "Elle est masquée de telle façon qu'Excel ne la montre pas (même avec « Afficher ») : "
        "copiez vos chiffres dans un nouveau modèle de la CAPAS."
        if details[title].very_hidden
        else "Si ses chiffres sont les bons, affichez-la (clic droit sur un onglet > Afficher) ; "
        "sinon supprimez-la."
    )
    raw.issue(
        title,
        f"La feuille « {title} » est masquée et contient des données : elles ne sont pas lues, "
        f"pour ne pas charger des chiffres que vous ne voyez pas. {how} Puis renvoyez le fichier. "
        f"Feuilles visibles : {visible or 'aucune'} ; la feuille des chiffres doit s'appeler "
        "« activite ».",
    )


HIDDEN_ROW = (
    "Ligne masquée (ou cachée par un filtre) qui contient des données : elle serait chargée sans que "
    "vous la voyiez. Affichez les lignes masquées (sélectionnez tout, clic droit > Afficher) ou "
    "retirez le filtre, vérifiez ces lignes, supprimez celles qui ne doivent pas être envoyées, "
    "puis renvoyez le fichier."
)


def _hidden_column_message(header: str, letter: str) -> str:
    return (
        f"La colonne « {header} » ({letter}) est masquée et contient des données : elles seraient "
        "chargées sans que vous les voyiez. Affichez-la (sélectionnez les colonnes voisines, clic "
        "droit > Afficher), vérifiez-la, puis renvoyez le fichier."
    )


def _report_hidden_cells(
    raw: RawFile, sheet: RawSheet, details: workbook_details.SheetDetails
) -> None:
    """Rows and columns hidden in Excel whose values would be loaded: the file is refused."""
    if details.hidden_rows:
        hidden = sheet.frame.filter(pl.col(ROW).is_in(details.hidden_rows))[ROW]
        for row in hidden.to_list():
            raw.issue(sheet.title, HIDDEN_ROW, row=row)
    for canonical, letter in sheet.letters.items():
        if not letter or not details.column_is_hidden(_column_number(letter)):
            continue
        if sheet.frame[canonical].null_count() < sheet.frame.height:
            header = sheet.headers[canonical]
            raw.issue(
                sheet.title,
                _hidden_column_message(header, letter),
                row=sheet.header_row,
                column=header,
                cell=f"{letter}{sheet.header_row}",
            )


def _report_hidden_identification(
    raw: RawFile, title: str, details: workbook_details.SheetDetails
) -> None:
    """The member, period, contact or date read from a hidden row or column."""
    for name, cell in raw.identification.items():
        if cell.value is None or cell.row is None:
            continue
        if cell.row in details.hidden_rows:
            raw.issue(title, HIDDEN_ROW, row=cell.row, column=name, value=cell.value)
        elif cell.letter and details.column_is_hidden(_column_number(cell.letter)):
            raw.issue(
                title,
                _hidden_column_message(name, cell.letter),
                row=cell.row,
                column=name,
                value=cell.value,
                cell=f"{cell.letter}{cell.row}",
            )


def _column_number(letter: str) -> int:
    """'A' -> 1, 'AB' -> 28, as in the workbook's XML."""
    number = 0
    for char in letter:
        number = number * 26 + ord(char) - ord("A") + 1
    return number


@dataclass
class _Grid:
    """A sheet as text cells: frame columns in sheet order, letters, and row 0 = Excel row 1."""

    frame: pl.DataFrame
    letters: list[str]


def _sheet_grid(
    reader: fastexcel.ExcelReader,
    title: str,
    merges: list[tuple[int, int, int, int]],
    error_cells: list[tuple[str, str]] = (),
) -> _Grid:
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
    return _Grid(frame, [column_letter(int(name[1:])) for name in frame.columns])


def _is_empty(grid: _Grid) -> bool:
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
        result[sheet.get("name", "")] = [(*_cell_position(a), *_cell_position(b)) for a, b in refs]
    return {
        name: [(r1, c1, r2, c2) for r1, c1, r2, c2 in ranges] for name, ranges in result.items()
    }


def _cell_position(reference: str) -> tuple[int, int]:
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
    positions = [(*_cell_position(reference), value) for reference, value in error_cells]
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


def _read_identification(grid: _Grid) -> dict[str, Cell]:
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


def _data_sheet(
    raw: RawFile,
    spec: Sheet,
    title: str,
    grid: _Grid,
    first_row: int,
    header: tuple | None = None,
) -> RawSheet | None:
    """Find the header row, map the columns, drop blank/total/example rows; None if unusable.

    `header`: the header cells when they were found before (a CSV file's header line); the grid
    then holds only the rows below it."""
    frame = grid.frame
    if header is not None:
        return _mapped_sheet(raw, spec, title, grid, first_row, header, frame)
    head = frame.head(HEADER_SEARCH_ROWS + 1).rows()
    header_index = _find_header(head[:HEADER_SEARCH_ROWS], spec)
    if header_index is None:
        _report_no_header(raw, spec, title, head[:HEADER_SEARCH_ROWS], first_row)
        return None
    header = head[header_index]
    if header_index + 1 < len(head):  # titles on two rows (merged cells): one title per column
        combined = _second_header_row(header, head[header_index + 1], spec)
        if combined is not None:
            header, header_index = combined, header_index + 1
    body = frame.slice(header_index + 1)
    return _mapped_sheet(raw, spec, title, grid, first_row + header_index, header, body)


def _second_header_row(upper: tuple, lower: tuple, spec: Sheet) -> tuple | None:
    """The titles of a header written on two rows, or None when the row below is data.

    The row below continues the header when each of its cells is empty, a copy of the title above
    (a title merged over both rows) or a column title itself (« femmes » under a merged « dont »).
    Each column then takes the title below when it is one, else the one above.
    """
    cells = [(above, below) for above, below in zip(upper, lower, strict=True) if below]
    if not cells:
        return None
    known_below = [canonical_column(spec, below) is not None for _above, below in cells]
    if not all(
        known or above == below for (above, below), known in zip(cells, known_below, strict=True)
    ):
        return None
    return tuple(
        below if below and below != above and canonical_column(spec, below) else above
        for above, below in zip(upper, lower, strict=True)
    )


def _report_no_header(raw: RawFile, spec: Sheet, title: str, rows: list[tuple], first_row: int):
    """No header row: say so, and what the row that looks most like one lacks."""
    expected = [column.name for column in spec.columns if column.required]
    message = (
        f"Ligne des titres de colonnes introuvable dans les {HEADER_SEARCH_ROWS} premières "
        f"lignes. La feuille doit avoir une ligne de titres contenant au moins : "
        f"{', '.join(expected)}."
    )
    known = [[canonical_column(spec, value) for value in row] for row in rows]
    best = max(range(len(rows)), key=lambda index: sum(map(bool, known[index])), default=None)
    found = [name for name in known[best] if name] if best is not None else []
    if found:
        titles = ", ".join(
            f"« {value} »" for value, name in zip(rows[best], known[best], strict=True) if name
        )
        missing = [name for name in expected if name not in found]
        message += (
            f" La ligne {first_row + best} ressemble à une ligne de titres ({titles}) mais il y "
            f"manque : {', '.join(missing) or ', '.join(spec.anchors)}."
        )
    raw.issue(title, message)


def _mapped_sheet(
    raw: RawFile,
    spec: Sheet,
    title: str,
    grid: _Grid,
    header_row: int,
    headers: tuple,
    body: pl.DataFrame,
) -> RawSheet | None:
    frame = grid.frame
    mapping: dict[str, str] = {}  # frame column -> canonical
    written: dict[str, str] = {}
    letters: dict[str, str | None] = {}
    for frame_column, header, letter in zip(frame.columns, headers, grid.letters, strict=True):
        canonical = canonical_column(spec, header)
        has_values = body[frame_column].null_count() < body.height
        cell = f"{letter}{header_row}" if letter else None
        if canonical is None:
            if has_values:
                _report_unknown_column(raw, spec, title, header, header_row, cell)
            continue
        if canonical in written:
            raw.issue(
                title,
                f"La colonne « {canonical} » apparaît deux fois (« {written[canonical]} » "
                f"et « {header} »). Gardez-en une seule.",
                row=header_row,
                column=header,
                value=header,
                cell=cell,
            )
            continue
        mapping[frame_column] = canonical
        written[canonical] = header
        letters[canonical] = letter
    missing = [c.name for c in spec.columns if c.required and c.name not in written]
    for name in missing:
        raw.issue(
            title,
            f"Colonne obligatoire « {name} » absente. {spec.column(name).help_fr}",
            row=header_row,
            column=name,
        )
    if missing:
        return None
    selected = body.select(
        pl.int_range(header_row + 1, header_row + 1 + body.height, dtype=pl.Int64).alias(ROW),
        *[pl.col(frame_column).alias(canonical) for frame_column, canonical in mapping.items()],
    )
    for column in spec.names:  # optional columns absent from the file are null
        if column not in selected.columns:
            selected = selected.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    selected = selected.select(ROW, *spec.names)
    distinct: dict[str, pl.Series] = {}
    if raw.kind == "csv":
        selected, distinct = _tidy_csv_columns(selected, spec)
    kept, skipped = _drop_blank_and_total_rows(selected, spec, distinct)
    if skipped:  # some of the values may have gone with the dropped rows
        distinct = {}
    return RawSheet(spec.name, title, kept, written, letters, header_row, skipped, distinct)


def _is_header(cells, spec: Sheet) -> bool:
    """The sheet's key columns, or at least three known titles, a repeated one counted twice (then
    a missing or repeated column is reported, rather than no header at all)."""
    found = [name for name in (canonical_column(spec, value) for value in cells) if name]
    return all(anchor in found for anchor in spec.anchors) or len(found) >= 3


def _find_header(rows: list[tuple], spec: Sheet) -> int | None:
    return next((index for index, values in enumerate(rows) if _is_header(values, spec)), None)


def _report_unknown_column(
    raw: RawFile, spec: Sheet, title: str, header: str | None, header_row: int, cell: str | None
) -> None:
    """A near miss (« femme ») is an error — its figures would be lost; anything else is ignored."""
    known = [name for column in spec.columns for name in (column.name, *column.synonyms)]
    if header is None:
        raw.issue(
            title,
            "Une colonne sans titre contient des valeurs : elles sont ignorées. "
            "Donnez-lui un titre du modèle si ces valeurs doivent être prises en compte.",
            row=header_row,
            severity=WARNING,
            cell=cell,
        )
        return
    close = difflib.get_close_matches(column_key(header), known, n=1, cutoff=0.8)
    if close:
        suggestion = canonical_column(spec, close[0])
        raw.issue(
            title,
            f"Colonne « {header} » non reconnue. Vouliez-vous dire « {suggestion} » ? "
            "Corrigez le titre de la colonne.",
            row=header_row,
            column=header,
            value=header,
            cell=cell,
        )
    else:
        names = ", ".join(spec.names)
        raw.issue(
            title,
            f"Colonne « {header} » non reconnue : elle est ignorée. Colonnes prises en "
            f"compte : {names}.",
            row=header_row,
            column=header,
            value=header,
            severity=WARNING,
            cell=cell,
        )


def _blank(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype != pl.String:  # counts a CSV file's parser read as numbers: blank cells are null
        return pl.col(column).is_null()
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def _drop_blank_and_total_rows(
    frame: pl.DataFrame, spec: Sheet, distinct: dict[str, pl.Series] | None = None
) -> tuple[pl.DataFrame, int]:
    """Drop rows with nothing in them, and rows whose label cells start with Total or Exemple.

    Both tests look at the few label columns first (on their distinct values), so that a large
    file pays for the other columns only on the rows that might be blank.
    """
    labels = [c for c in spec.label_columns if c in frame.columns]
    others = [c for c in spec.names if c not in labels]
    maybe_blank = frame.filter(pl.all_horizontal(pl.col(labels).is_null())) if labels else frame
    blank_rows = maybe_blank.filter(pl.all_horizontal(_blank(c, frame.schema[c]) for c in others))[
        ROW
    ]
    distinct = distinct or {}
    distinct_labels = [
        distinct[c] if c in distinct else frame[c].unique().drop_nulls() for c in labels
    ]
    skipped_labels = [
        values.filter(values.str.contains(SKIPPED_ROW_PATTERN)) for values in distinct_labels
    ]
    if blank_rows.len() == 0 and all(values.len() == 0 for values in skipped_labels):
        return frame, 0  # nothing to drop: no pass over the rows
    total = (
        pl.any_horizontal(
            pl.col(c).is_in(values.implode()).fill_null(False)
            for c, values in zip(labels, skipped_labels, strict=True)
        )
        if labels
        else pl.lit(False)
    )
    kept = frame.filter(~(pl.col(ROW).is_in(blank_rows.implode()) | total))
    return kept, frame.height - kept.height


def _tidy_csv_columns(
    frame: pl.DataFrame, spec: Sheet
) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Trim the text columns (not the counts) through their distinct values; blank becomes null.

    Returns the tidied frame and the distinct values of each text column after tidying."""
    text_columns = [c.name for c in spec.columns if c.kind != INTEGER and c.name in frame.columns]
    uniques = frame.select(pl.col(c).unique().drop_nulls().implode() for c in text_columns)
    tidied = []
    distinct_after = {}
    for column in text_columns:
        distinct = uniques[column][0].alias(column)
        trimmed = distinct.str.strip_chars()
        if (trimmed == distinct).all():
            distinct_after[column] = distinct
            continue
        tidied.append(
            pl.col(column).replace_strict(
                distinct, trimmed.replace("", None), default=None, return_dtype=pl.String
            )
        )
        distinct_after[column] = trimmed.filter(trimmed != "").unique()
    return (frame.with_columns(tidied) if tidied else frame), distinct_after


# ---------------------------------------------------------------- CSV files


def _without_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def _from_windows_1252(data: bytes) -> bytes:
    """What Excel writes on Windows when it is not told to use UTF-8."""
    return data.decode("cp1252", errors="replace").encode("utf-8")


def _parse_csv(
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


def _parse_from_header(raw: RawFile, data: bytes) -> tuple | str | None:
    """(frame, header line, its index, separator); 'not utf-8'; or None with the issue raised."""
    head_lines = (
        data[: 64 * 1024].decode("utf-8", errors="replace").splitlines()[:HEADER_SEARCH_ROWS]
    )
    header = _find_csv_header(head_lines)
    if header is None:
        raw.issue(
            "activite",
            "Ligne des titres de colonnes introuvable dans les "
            f"{HEADER_SEARCH_ROWS} premières lignes du fichier CSV. La première ligne doit "
            "contenir les titres : membre, periode, theme, commune, personnes…",
        )
        return None
    index, separator = header
    body = data[_line_offset(data, index) :]
    try:
        frame = _parse_csv(body, separator)
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
            return _parse_csv(body, separator, drop_empty_extra_values=True)
        except pl.exceptions.PolarsError:
            pass
    raw.issue("activite", csv_structure.IRREGULAR)
    return None


def _values_span_lines(frame: pl.DataFrame, body: bytes, separator: str) -> bool:
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
    if not _values_span_lines(frame, body, separator):
        return False
    quote = csv_structure.unclosed_quote(body.decode("utf-8", errors="replace"), header_row)
    message, row, value = csv_structure.UNCLOSED_QUOTE, *(quote or (None, None))
    raw.issue("activite", message if quote else csv_structure.IRREGULAR, row=row, value=value)
    return True


def _looks_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a character cut at the end of the sample
    return True


def _read_csv(raw: RawFile, data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, Excel's « Texte Unicode »
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    data = _without_bom(data)
    if not _looks_utf8(data[: 64 * 1024]):
        data = _from_windows_1252(data)
    if b"\n" not in data and b"\r" in data:  # lines ended by CR alone (old Mac): unambiguous
        data = data.replace(b"\r", b"\n")
    if _read_csv_with_plain_counts(raw, data):
        return
    parsed = _parse_from_header(raw, data)
    if parsed == "not utf-8":  # the first bytes were UTF-8, a later line is not
        parsed = _parse_from_header(raw, _from_windows_1252(data))
    if not isinstance(parsed, tuple):
        return
    frame, header_line, index, separator = parsed
    frame = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns)})
    headers = pl.DataFrame(
        [
            pl.Series(f"c{i}", [name], dtype=pl.String)
            for i, name in enumerate(_csv_header_cells(header_line, separator))
        ]
    )
    frame = pl.concat([headers, frame], how="diagonal") if frame.width else headers
    # Not stripped here: a million rows are tidied column by column on their distinct values
    # (_tidy_csv_columns), and counts with spaces are cleaned when parsed.
    grid = _Grid(frame, [None] * frame.width)  # no column letters in a CSV file
    _csv_activity_sheet(raw, _data_sheet(raw, ACTIVITY, "activite", grid, first_row=index + 1))


COUNT_COLUMNS = frozenset(column.name for column in ACTIVITY.columns if column.kind == INTEGER)
PLAIN_COUNTS_SAMPLE_ROWS = 1000


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
    header = _find_csv_header(head_lines)
    if header is None:
        return False
    index, separator = header
    cells = _csv_header_cells(head_lines[index], separator)
    canonical = [canonical_column(ACTIVITY, cell) for cell in cells]
    named = [name for name in canonical if name is not None]
    if len(named) != len(set(named)) or "personnes" not in named:
        return False
    body = data[_line_offset(data, index) :]
    try:
        names = _parse_csv(body, separator, n_rows=0).columns
        if len(names) != len(cells):
            return False
        counts = {names[i]: pl.Int32 for i, name in enumerate(canonical) if name in COUNT_COLUMNS}
        _parse_csv(body, separator, counts, n_rows=PLAIN_COUNTS_SAMPLE_ROWS)  # fails early
        frame = _parse_csv(body, separator, counts)
    except pl.exceptions.PolarsError:
        return False
    if any((frame[name].min() or 0) < 0 for name in counts):
        return False
    if _values_span_lines(frame, body, separator):
        return False  # a stray quote: reported by the text path
    frame = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns)})
    attempt = RawFile(raw.file_name, raw.sha256, raw.kind)
    grid = _Grid(frame, [None] * frame.width)
    sheet = _data_sheet(attempt, ACTIVITY, "activite", grid, index + 1, header=tuple(cells))
    if sheet is None or sheet.frame["personnes"].null_count():
        return False  # a missing count is reported with the text written in the cell
    _csv_activity_sheet(attempt, sheet)
    raw.issues.extend(attempt.issues)
    raw.sheets.update(attempt.sheets)
    return True


def _csv_activity_sheet(raw: RawFile, sheet: RawSheet | None) -> None:
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


def _find_csv_header(lines: list[str]) -> tuple[int, str] | None:
    for index, line in enumerate(lines):
        separator = max([";", ",", "\t"], key=line.count)
        if line.count(separator) == 0:
            continue
        if _is_header(_csv_header_cells(line, separator), ACTIVITY):
            return index, separator
    return None


def _csv_header_cells(line: str, separator: str) -> list[str]:
    return [cell.strip().strip('"').strip() for cell in line.split(separator)]


def _line_offset(data: bytes, line_index: int) -> int:
    offset = 0
    for _ in range(line_index):
        offset = data.index(b"\n", offset) + 1
    return offset
