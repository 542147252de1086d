"""What the reader hands to the validator: a file's sheets as text frames located as in Excel.

Every value is text (parsed later by the rules), each data row keeps the number the member sees in
Excel (`_row`), and problems that stop reading are issues of the file, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from etl.submission.results import ERROR, Issue

ROW = "_row"  # the Excel row number of each data row


@dataclass(frozen=True)
class Cell:
    value: str | None
    row: int | None
    letter: str | None

    @property
    def reference(self) -> str | None:
        """'B2', when the cell's position is known."""
        return f"{self.letter}{self.row}" if self.letter and self.row else None


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


@dataclass
class Grid:
    """A sheet as text cells: frame columns in sheet order, letters, and row 0 = Excel row 1."""

    frame: pl.DataFrame
    letters: list[str]
