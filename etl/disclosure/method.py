"""The protection method applied at every publish (DESIGN §6), and its audit.

1. Primary: every count from 1 to 4 is withheld.
2. Secondary, cell by cell: for each withheld 1–4 a witness is found (etl/disclosure/witness.py: a
   way to add 4 to the cell that keeps every published number and relation), using cells already
   withheld first, then the smallest published ones, which are then withheld too. Zeros may be
   used (a withheld cell may then be 0, so withholding no longer says "at least 1"), except where
   another column says a cell is zero.
3. The audit (etl/disclosure/audit.py) then plays the attacker on the result; a breach stops the
   publish.

`SECONDARY_PROTECTION` exists so that a test can weaken the rule and see the audit refuse it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from etl.disclosure.relations import (
    CUBE_KEYS,
    CUBE_MEASURES,
    WHOLE_YEAR,
    cube_cells,
)
from etl.disclosure.search import Search, box, find
from etl.disclosure.table import Table, build_table, sensitive_cells
from etl.disclosure.witness import Witnesses

SUPPRESSED_SUFFIX = "_supprime"
SECONDARY_PROTECTION = True  # False only in the test that shows the audit refusing a weak rule


def suppressed_flag(column: str) -> str:
    return f"{column}{SUPPRESSED_SUFFIX}"


@dataclass
class Protection:
    hidden: np.ndarray  # per cell of the table: withheld
    witnesses: Witnesses
    seconds: dict = field(default_factory=dict)


def protect(table: Table, secondary: bool | None = None) -> Protection:
    """Which cells to withhold, and the witness of each withheld 1–4."""
    secondary = SECONDARY_PROTECTION if secondary is None else secondary
    started = time.perf_counter()
    sensitive = sensitive_cells(table)
    hidden = sensitive.copy()
    if not secondary or not sensitive.any():
        return Protection(hidden, Witnesses.empty(), {"protection": 0.0})
    search = Search(table, table.reported.copy(), np.where(hidden, 0.0, 1.0))

    def adopt(witnesses: Witnesses) -> None:
        hidden[witnesses.cell] = True
        search.cost[witnesses.cell] = 0.0
        search._lines.clear()

    found, left = find(search, np.flatnonzero(sensitive), adopt)
    for _ in range(2):  # a second pass sees the cells the first withheld
        if left.size == 0:
            break
        boxed = box(search, left)
        adopt(boxed)
        found = found + boxed
        left = np.setdiff1d(left, boxed.owner)
    return Protection(hidden, found, {"protection": time.perf_counter() - started})


# --- from cubes to cells and back ------------------------------------------------------------------


def restore_cube(cube: pl.DataFrame, cells: pl.DataFrame, hidden: np.ndarray, in_year: bool):
    """`cube` with its withheld measures NULL and a `<measure>_supprime` flag per measure."""
    part = cells.select("row", "measure", "in_year_cube").with_columns(
        hidden=pl.Series(hidden, dtype=pl.Boolean)
    )
    part = part.filter(pl.col("in_year_cube") == in_year)
    flags = np.zeros((len(CUBE_MEASURES), cube.height), dtype=bool)
    measure_number = part["measure"].cast(pl.Enum(list(CUBE_MEASURES))).to_physical().to_numpy()
    flags[measure_number, part["row"].to_numpy()] = part["hidden"].to_numpy()
    return cube.with_columns(
        pl.Series(suppressed_flag(m), flags[i], dtype=pl.Boolean)
        for i, m in enumerate(CUBE_MEASURES)
    ).with_columns(
        pl.when(pl.col(suppressed_flag(m))).then(None).otherwise(pl.col(m)).alias(m)
        for m in CUBE_MEASURES
    )


def cells_of_cubes(year_cube: pl.DataFrame, quarter_cube: pl.DataFrame) -> pl.DataFrame:
    return cube_cells(year_cube, quarter_cube)


__all__ = [
    "CUBE_KEYS",
    "WHOLE_YEAR",
    "Protection",
    "build_table",
    "cells_of_cubes",
    "protect",
    "restore_cube",
    "sensitive_cells",
]
