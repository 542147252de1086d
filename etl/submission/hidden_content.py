"""Hidden sheets, rows and columns that hold data: the file is refused, naming them.

The member does not see them: loading them would load figures nobody checked (often an old copy of
the sheet), and ignoring them might lose real ones (rows hidden by a filter are data). Decision and
what is not counted: docs/SOUMISSIONS.md §4.
"""

from __future__ import annotations

import polars as pl

from etl.submission import workbook_details
from etl.submission.raw import ROW, RawFile, RawSheet


def report_hidden_sheet(
    raw: RawFile,
    title: str,
    sheet_names: list[str],
    details: dict[str, workbook_details.SheetDetails],
) -> None:
    """A hidden sheet named like a data sheet, holding data: it is not read and the file is
    refused, naming it and the visible sheets (often an old copy of the sheet)."""
    visible = ", ".join(
        f"« {name} »" for name in sheet_names if not (details.get(name) and details[name].hidden)
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


def report_hidden_cells(
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


def report_hidden_identification(
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
