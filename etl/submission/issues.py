"""Issues of a file as one frame (sheet, row, column, value, message, severity, cell), built by the
rules: each rule returns the issues of the rows it failed, and the collector keeps them in order
with the data rows in error (rows_rejected)."""

from __future__ import annotations

import polars as pl

from etl.submission.raw import ROW, RawSheet
from etl.submission.results import ERROR

ISSUE_SCHEMA = {
    "sheet": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "message": pl.String,
    "severity": pl.String,
    "cell": pl.String,
}


def issue_rows(
    frame: pl.DataFrame,
    mask: pl.Expr,
    sheet: RawSheet,
    column: str,
    message: pl.Expr | str,
    value: pl.Expr | None = None,
    severity: str = ERROR,
) -> pl.DataFrame | None:
    """One issue for each row of `frame` where `mask` holds, located as in Excel (the header as
    written, the cell when the column letter is known); None when no row fails."""
    failed = frame.filter(mask)
    if failed.height == 0:
        return None
    letter = sheet.letters.get(column)
    cell = pl.lit(letter) + pl.col(ROW).cast(pl.String) if letter else pl.lit(None, pl.String)
    return failed.select(
        pl.lit(sheet.title).alias("sheet"),
        pl.col(ROW).alias("row"),
        pl.lit(sheet.headers.get(column, column)).alias("column"),
        (pl.col(column) if value is None else value).cast(pl.String).alias("value"),
        (pl.lit(message) if isinstance(message, str) else message).alias("message"),
        pl.lit(severity).alias("severity"),
        cell.alias("cell"),
    )


def one_issue(
    sheet: str,
    message: str,
    *,
    row: int | None = None,
    column: str | None = None,
    value: str | None = None,
    severity: str = ERROR,
    cell: str | None = None,
) -> pl.DataFrame:
    """An issue of a cell or of the whole file (sheet « — »)."""
    issue = {"sheet": sheet, "row": row, "column": column, "value": value, "message": message}
    return pl.DataFrame([{**issue, "severity": severity, "cell": cell}], schema=ISSUE_SCHEMA)


class IssueCollector:
    """Issue frames in the order the rules found them; the data rows in error per sheet."""

    def __init__(self) -> None:
        self.parts: list[pl.DataFrame] = []
        self.rows: list[pl.DataFrame] = []

    def add_rows(self, part: pl.DataFrame | None) -> None:
        """The issues of data rows (a rule's result): their errors reject their rows."""
        if part is None:
            return
        self.parts.append(part)
        if (part["severity"] == ERROR).any():
            self.rows.append(part.filter(pl.col("severity") == ERROR).select("sheet", "row"))

    def add(self, part: pl.DataFrame | None) -> None:
        """Issues of cells or of the file, which reject no data row."""
        if part is not None:
            self.parts.append(part)

    def reject(self, sheet: str, rows: list[int]) -> None:
        """Data rows rejected by an issue reported elsewhere (a slice's first rows)."""
        self.rows.append(
            pl.DataFrame(
                {"sheet": [sheet] * len(rows), "row": rows},
                schema={"sheet": pl.String, "row": pl.Int64},
            )
        )

    def frame(self) -> pl.DataFrame:
        if not self.parts:
            return pl.DataFrame(schema=ISSUE_SCHEMA)
        return pl.concat(self.parts, how="vertical")

    def rejected_rows(self) -> int:
        if not self.rows:
            return 0
        return pl.concat(self.rows).unique().height
