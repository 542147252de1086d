"""Tables that leave for a spreadsheet: one CSV format for every download, and formula neutralisation.

Every CSV a visitor or a researcher downloads (Données, its ZIP, Qui fait quoi, Remontées du terrain)
is written by `to_csv`: UTF-8 with a byte-order mark (Excel then reads accents right), comma
separators, CRLF line ends (RFC 4180). Members' free texts may start with what a spreadsheet runs as a
formula (CSV injection, OWASP): `neutralise_formulas` prefixes such a text cell with « ' » so that it
is shown, never run.
"""

from __future__ import annotations

import io

import polars as pl
import xlsxwriter

# What a spreadsheet may take as the start of a formula (OWASP « CSV Injection »): = + - @, also
# after leading spaces, line breaks or invisible characters (spreadsheets skip them), their
# full-width forms (＝ ＋ － ＠, which some convert), and a cell starting with a tab, CR or LF.
FORMULA_STARTS = r"^(?:[\t\r\n]|[\s\u200b\u200e\u200f\u2060\ufeff]*[=+\-@\uff1d\uff0b\uff0d\uff20])"
QUOTE = "'"


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix with « ' » every text cell that a spreadsheet would run as a formula."""
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_STARTS))
        .then(pl.lit(QUOTE) + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def neutral_text(text: str) -> str:
    """One text, neutralised like a cell."""
    return neutralise_formulas(pl.DataFrame({"t": [text]}, schema={"t": pl.String}))["t"][0]


def csv_text(frame: pl.DataFrame) -> str:
    """The CSV text of a table, formulas neutralised, CRLF line ends."""
    return neutralise_formulas(frame).write_csv(line_terminator="\r\n")


def to_csv(frame: pl.DataFrame, *, bom: bool = True) -> bytes:
    """The bytes of every downloaded CSV: UTF-8 with a BOM, comma-separated, '.' decimals.

    `bom=False` only for files read by programs that a BOM would confuse (the HSDS package).
    """
    return csv_text(frame).encode("utf-8-sig" if bom else "utf-8")


def safe_workbook(buffer: io.BytesIO) -> xlsxwriter.Workbook:
    """An in-memory workbook that never turns text into a formula, a link or a number (belt and
    braces with `neutralise_formulas`)."""
    return xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )


def to_xlsx(frame: pl.DataFrame, sheet: str) -> bytes:
    """A one-sheet workbook of the table, formulas neutralised and never written as formulas."""
    buffer = io.BytesIO()
    workbook = safe_workbook(buffer)
    neutralise_formulas(frame).write_excel(workbook=workbook, worksheet=sheet, autofit=True)
    workbook.close()
    return buffer.getvalue()
