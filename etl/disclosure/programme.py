"""Linear programmes on the model of one year (etl/disclosure/cube.py): no relation links two
years, so a year is the natural block of the attacker's problem.

- `year_problem`: the attacker's problem (audit.py): published cells as constants, withheld and
  unpublished cells as variables, every relation of relations.py as a row;
- `protect_by_programme`: the method's last resort (method.py): for the cells its witness search
  left unprotected, the cheapest change of published cells (by cell costs) that lets each of them
  go up by 4 while every relation holds; the published cells it changes are withheld, and where
  the programme's solution is whole it is a witness (verified again by the audit).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from etl.disclosure.cube import MEASURE, UNBOUNDED, Cube, Y
from etl.disclosure.moves import STEP, Witnesses
from etl.disclosure.relations import AT_LEAST, AT_MOST, Groups, relation_rows

INF = highspy.kHighsInf
EPS = 1e-6
FREE_MOVE_COST = 1e-3  # per unit of change of a withheld or unpublished cell


@dataclass(frozen=True)
class Relations:
    """The relations over a list of cells (local numbers 0…n-1): sparse rows `group`, `cell`,
    `coef`; per group its `sense` (Σ coef·x = / ≤ / ≥ 0 over the model's cells)."""

    group: np.ndarray
    cell: np.ndarray
    coef: np.ndarray
    sense: np.ndarray
    n_groups: int

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        low = np.where(self.sense == AT_MOST, -INF, 0.0)
        high = np.where(self.sense == AT_LEAST, INF, 0.0)
        return low, high


def measure_blocks(cube: Cube, groups: list[Groups]) -> list[np.ndarray]:
    """The measures that relations link (persons and its parts), and each other measure alone:
    no relation crosses two blocks, so a year's problem splits into one programme per block."""
    n = cube.axes.shape[MEASURE]
    label = np.arange(n)
    for family_groups in groups:
        family = family_groups.family
        if family.axis == MEASURE:
            linked = np.flatnonzero(family.members | (np.arange(n) == family.total))
            label[np.isin(label, label[linked])] = label[linked].min()
    return [np.flatnonzero(label == b) for b in np.unique(label)]


def blocks_of(cube: Cube, groups: list[Groups], cells: np.ndarray):
    """(year, measures, cells of `cells` in that year and block) for each block holding some."""
    coords = cube.coords(cells)
    for measures in measure_blocks(cube, groups):
        in_block = np.isin(coords[:, MEASURE], measures)
        for year in np.unique(coords[in_block, Y]):
            yield int(year), measures, cells[in_block & (coords[:, Y] == year)]


def year_cells(cube: Cube, year: int, measures: np.ndarray | None = None) -> np.ndarray:
    """The model's cells of one year (a contiguous slice of the cube), of `measures` only."""
    stride = cube.strides[Y]
    start = year * stride
    cells = start + np.flatnonzero(cube.model[start : start + stride])
    if measures is None:
        return cells
    return cells[np.isin(cells % cube.axes.shape[MEASURE], measures)]


def year_relations(cube: Cube, groups: list[Groups], cells: np.ndarray) -> Relations:
    """Every relation holding some of `cells` (sorted), over them. Cells outside the model are 0
    and known to be (absent rows), or not in any relation (a commune's categories)."""
    row, cell, coef, _, sense, _ = relation_rows(cube, groups, cells)
    rows, group = np.unique(row, return_inverse=True)
    local = np.searchsorted(cells, cell)
    return Relations(group, local, coef.astype(np.float64), sense[rows], rows.size)


def known_bounds(cube: Cube, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the attacker knows of single cells: never negative, zero or positive where another
    published column says so."""
    upper = cube.upper[cells].astype(np.float64)
    return cube.lower[cells].astype(np.float64), np.where(upper >= UNBOUNDED, INF, upper)


def _highs(costs, col_low, col_high, matrix, row_low, row_high) -> highspy.Highs:
    """A HiGHS model from a column-wise sparse matrix (rows, columns, values)."""
    rows, columns, values = matrix
    order = np.lexsort((rows, columns))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = costs.size, row_low.size
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = costs, col_low, col_high
    lp.row_lower_, lp.row_upper_ = row_low, row_high
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(columns[order], np.arange(costs.size + 1))
    lp.a_matrix_.index_ = rows[order].astype(np.int32)
    lp.a_matrix_.value_ = values[order]
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    return highs


def protect_by_programme(
    cube: Cube, groups: list[Groups], hidden: np.ndarray, owners: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, Witnesses]:
    """For withheld `owners` with no witness: the published cells to withhold so that each can go
    up by 4 (one change for all the owners of a block at once, the cheapest by `cost`; each half of
    them on its own where that change is not whole, and so on), and their witnesses (whole changes only).
    Returns (cells to withhold, witnesses)."""
    withheld, cost = hidden.copy(), cost.copy()
    found = [Witnesses.empty()]
    for year, measures, mine in blocks_of(cube, groups, owners):
        cells = year_cells(cube, year, measures)
        pending = [mine]
        while pending:  # a change that is not whole: each half of its owners on its own
            together = pending.pop()
            change = _cheapest_change(cube, groups, withheld, cells, together, cost)
            whole = change is not None and np.all(np.abs(change - np.round(change)) < EPS)
            if not whole:
                if together.size > 1:
                    pending += [together[: together.size // 2], together[together.size // 2 :]]
                continue
            moved = np.abs(change) > EPS
            newly = cells[moved & cube.published[cells] & ~withheld[cells]]
            withheld[newly], cost[newly] = True, 0.0
            at, delta = cells[moved], np.round(change[moved]).astype(np.int64)
            k = together.size
            found.append(Witnesses(np.repeat(together, at.size), np.tile(at, k),
                                   np.tile(delta, k)))  # fmt: skip
    return np.flatnonzero(withheld & ~hidden), sum(found[1:], found[0])


def _cheapest_change(cube, groups, hidden, cells, owners, cost) -> np.ndarray | None:
    """x − value over `cells` minimising the cost of the published cells changed (|x − value|
    through two non-negative columns each), every relation and known bound holding, each owner
    at least 4 higher. None when HiGHS finds no solution."""
    relations = year_relations(cube, groups, cells)
    n = cells.size
    value = cube.value[cells].astype(np.float64)
    low, high = known_bounds(cube, cells)
    col_low, col_high = low - value, np.where(np.isinf(high), INF, high - value)
    mine = np.searchsorted(cells, owners)
    col_low[mine] = np.maximum(col_low[mine], STEP)
    # Σ coef·(value + d) within the sense's bounds: Σ coef·d within them, shifted.
    balance = np.bincount(
        relations.group, relations.coef * value[relations.cell], relations.n_groups
    )
    row_low, row_high = relations.bounds()
    row_low, row_high = row_low - balance, row_high - balance
    # Every cell's change costs: a published cell shown its price, any other a little (so that
    # the change stays small: a sparse solution is more often whole).
    paid = np.arange(n)
    k = n
    # d_j − p_j + n_j = 0 for the published cells shown: p, n ≥ 0 carry the cost of changing j.
    link_rows = relations.n_groups + np.arange(k)
    matrix = (
        np.concatenate([relations.group, link_rows, link_rows, link_rows]),
        np.concatenate([relations.cell, paid, n + np.arange(k), n + k + np.arange(k)]),
        np.concatenate([relations.coef, np.ones(k), -np.ones(k), np.ones(k)]),
    )
    shown = cube.published[cells] & ~hidden[cells]
    price = np.where(shown, cost[cells], FREE_MOVE_COST)
    costs = np.concatenate([np.zeros(n), price, price])
    highs = _highs(
        costs,
        np.concatenate([col_low, np.zeros(2 * k)]),
        np.concatenate([col_high, np.full(2 * k, INF)]),
        matrix,
        np.concatenate([row_low, np.zeros(k)]),
        np.concatenate([row_high, np.zeros(k)]),
    )
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(highs.getSolution().col_value)[:n]
