"""The protection method applied at every publish (DESIGN §6), on the published crossings.

1. Primary: every published count from 1 to 4 is withheld.
2. Secondary, cell by cell: for each withheld 1–4 a witness is found (etl/disclosure/moves.py: a
   way to add 4 to the cell that keeps every published number and relation), made of cells already
   withheld or not published at all first, then of published cells, which are then withheld too.
   Zeros may be used (a withheld cell may then be 0, so withholding no longer says "at least 1"),
   except where another column says a cell is zero. The canton's headline figures (GE or
   everywhere, all themes, all members) are never used by the search; a commune's totals cost
   more the more of the canton's persons it holds (`commune_total_prices`).
   For the cells left without a witness, the last resort is a linear programme
   (etl/disclosure/programme.py): the cheapest change of published cells that lets each go up by 4,
   the headline figures costing far more than any other cell (withheld only when nothing else can
   protect a cell, and counted); the cells it changes are withheld.
3. The audit (etl/disclosure/audit.py) then plays the attacker on the result; a breach stops the
   publish.

`SECONDARY_PROTECTION` exists so that a test can weaken the rule and see the audit refuse it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.disclosure.crossings import CANTON, published_cube
from etl.disclosure.cube import (
    CATEGORY,
    LIEU,
    MEASURES,
    PLACES,
    THEME,
    YEAR_PERIOD,
    Cube,
    Q,
    cell_index,
    row_keys,
)
from etl.disclosure.moves import Model, Witnesses
from etl.disclosure.programme import protect_by_programme
from etl.disclosure.relations import Groups
from etl.disclosure.search import Search
from etl.disclosure.steps import find

SUPPRESSED_SUFFIX = "_supprime"
SECONDARY_PROTECTION = True  # False only in the test that shows the audit refusing a weak rule
HEADLINE_COST = 1e6  # the canton's headline figures: a last resort
CANTON_DETAIL_COST = (
    1000.0  # the canton (GE, everywhere) by theme or category: what pages show first
)
CELL_COST = 1.0
# A commune's totals (all themes: the year, its quarters, every measure) cost one cell more per
# percent of the canton's persons the commune holds that year: without it the city of Geneva, whose
# totals have most room, became the partner of every small commune and its total was withheld
# every year (docs/DONNEES.md « Utilité »).
COMMUNE_TOTAL_PRICE_PER_PERCENT = 1.0
YEAR_FACTOR = 10.0  # a year's headline figure costs more than a quarter's


def suppressed_flag(column: str) -> str:
    return f"{column}{SUPPRESSED_SUFFIX}"


@dataclass
class Protection:
    hidden: np.ndarray  # per cell of the cube: withheld (published crossings only)
    witnesses: Witnesses
    unprotected: np.ndarray  # withheld 1–4 the method found no witness for
    headline_withheld: int  # canton headline figures withheld other than as 1–4 themselves
    seconds: float


def headline_cells(cube: Cube) -> np.ndarray:
    """Per cell: a canton headline figure (GE or everywhere, all themes, all members)."""
    coords = np.indices(cube.axes.shape[2:5]).reshape(3, -1)  # theme, lieu, category
    headline = (coords[0] == 0) & (coords[1] <= 1) & (coords[2] == 0)
    canton = coords[1] <= 1
    per_slice = np.where(headline, 2, np.where(canton, 1, 0)).astype(np.int8)
    shape = cube.axes.shape
    full = np.broadcast_to(per_slice.reshape(1, 1, *shape[THEME : CATEGORY + 1], 1), shape).reshape(
        -1
    )
    return full


def cell_costs(cube: Cube, hidden: np.ndarray) -> np.ndarray:
    """The price of withholding each cell (0 when withheld already or not published)."""
    level = headline_cells(cube)
    cost = np.where(level == 2, HEADLINE_COST, np.where(level == 1, CANTON_DETAIL_COST, CELL_COST))
    # A quarter's small headline figure is protected by another quarter's rather than the year's.
    year = (np.arange(cube.size) // cube.strides[Q]) % cube.axes.shape[Q] == YEAR_PERIOD
    cost = np.where(year & (level == 2), cost * YEAR_FACTOR, cost)
    cost = cost + commune_total_prices(cube)
    return np.where(hidden | ~cube.published, 0.0, cost)


def commune_total_prices(cube: Cube) -> np.ndarray:
    """Per cell: what withholding it costs beyond CELL_COST for being a commune's total (all
    themes, all members): COMMUNE_TOTAL_PRICE_PER_PERCENT per percent of the canton's persons that
    the commune holds in the year; 0 for every other cell."""
    shape = cube.axes.shape
    extra = np.zeros(shape)
    if "personnes" not in cube.axes.measures:
        return extra.reshape(-1)
    persons = cube.value.reshape(shape)[:, YEAR_PERIOD, 0, :, 0, cube.axes.measure("personnes")]
    canton = persons[:, PLACES.index(CANTON) : PLACES.index(CANTON) + 1]
    percent = 100.0 * persons / np.maximum(canton, 1)
    percent[:, : cube.axes.first_commune] = 0.0
    extra[:, :, 0, :, 0, :] = COMMUNE_TOTAL_PRICE_PER_PERCENT * percent[:, None, :, None]
    return extra.reshape(-1)


def protect(cube: Cube, groups: list[Groups], secondary: bool | None = None) -> Protection:
    """Which published cells to withhold, and the witness of each withheld 1–4."""
    secondary = SECONDARY_PROTECTION if secondary is None else secondary
    started = time.perf_counter()
    sensitive = cube.sensitive()
    hidden = sensitive.copy()
    owners = np.flatnonzero(sensitive)
    if not secondary or owners.size == 0:
        return Protection(hidden, Witnesses.empty(), owners[:0], 0, time.perf_counter() - started)
    search = Search(Model(cube, groups, cube.model.copy()), cell_costs(cube, hidden))
    headline = headline_cells(cube) == 2

    def adopt(cells: np.ndarray) -> None:
        newly = cells[cube.published[cells] & ~hidden[cells]]
        hidden[newly] = True
        search.cost[newly] = 0.0

    witnesses, left = find(search, _order(cube, owners), adopt)
    if left.size:  # the last resort: the cheapest change by linear programming
        newly, rescued = protect_by_programme(cube, groups, hidden, left, cell_costs(cube, hidden))
        hidden[newly] = True
        witnesses = witnesses + rescued
        left = np.setdiff1d(left, rescued.owner)
    if left.size == 0:
        hidden &= sensitive | _moved_by(witnesses, cube.size)
    return Protection(
        hidden,
        witnesses,
        left,
        int((hidden & headline & ~sensitive).sum()),
        time.perf_counter() - started,
    )


def _moved_by(witnesses: Witnesses, size: int) -> np.ndarray:
    """Per cell: some witness moves it. Once every withheld 1–4 has a witness, a cell that none
    moves protects nothing and is published again: cells taken by the steps of an owner whose
    search then failed (its last resort found another witness)."""
    moved = np.zeros(size, dtype=bool)
    moved[witnesses.cell[witnesses.delta != 0]] = True
    return moved


def _order(cube: Cube, owners: np.ndarray) -> np.ndarray:
    """Owners in the order they are protected: commune cells first (the most numerous: the cells
    they withhold are then free for the canton's), year by year."""
    coords = cube.coords(owners)
    canton_level = coords[:, LIEU] < 4
    return owners[np.lexsort((owners, canton_level))]


# --- from the model back to the cubes ---------------------------------------------------------------


def restore_cube(cube_frame: pl.DataFrame, cube: Cube, hidden: np.ndarray, in_year: bool):
    """The published rows of `cube_frame` with withheld measures NULL and a `<measure>_supprime`
    flag per measure."""
    published = published_cube(cube_frame, in_year)
    keys = row_keys(published, in_year)
    flags = {}
    for measure in MEASURES:
        cells = cell_index(cube, keys.with_columns(measure=pl.lit(measure)))
        flags[suppressed_flag(measure)] = np.where(cells >= 0, hidden[np.maximum(cells, 0)], False)
    return published.with_columns(
        pl.Series(name, values, dtype=pl.Boolean) for name, values in flags.items()
    ).with_columns(
        pl.when(pl.col(suppressed_flag(m))).then(None).otherwise(pl.col(m)).alias(m)
        for m in MEASURES
    )
