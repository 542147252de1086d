"""Where a sheet's table is: its header row (one or two rows, anywhere in the first 30), its columns
mapped to the template's, and the rows that are not data (blank, « Total », the example) dropped.

Shared by workbooks and CSV files (a CSV is one sheet, `activite`).
"""

from __future__ import annotations

import difflib

import polars as pl

from etl.submission.columns import INTEGER, Sheet, canonical_column, column_key
from etl.submission.raw import ROW, Grid, RawFile, RawSheet
from etl.submission.results import WARNING

HEADER_SEARCH_ROWS = 30


# Rows whose label cells start with these words are totals or the template's example: not data.
SKIPPED_ROW_PATTERN = r"(?i)^(total|sous[\s-]*total|somme|exemple)\b"


def data_sheet(
    raw: RawFile,
    spec: Sheet,
    title: str,
    grid: Grid,
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
    grid: Grid,
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
        selected, distinct = tidy_csv_columns(selected, spec)
    kept, skipped = drop_blank_and_total_rows(selected, spec, distinct)
    if skipped:  # some of the values may have gone with the dropped rows
        distinct = {}
    return RawSheet(spec.name, title, kept, written, letters, header_row, skipped, distinct)


def is_header(cells, spec: Sheet) -> bool:
    """The sheet's key columns, or at least three known titles, a repeated one counted twice (then
    a missing or repeated column is reported, rather than no header at all)."""
    found = [name for name in (canonical_column(spec, value) for value in cells) if name]
    return all(anchor in found for anchor in spec.anchors) or len(found) >= 3


def _find_header(rows: list[tuple], spec: Sheet) -> int | None:
    return next((index for index, values in enumerate(rows) if is_header(values, spec)), None)


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


def drop_blank_and_total_rows(
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


def tidy_csv_columns(frame: pl.DataFrame, spec: Sheet) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
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
