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
# These programmes are very degenerate (thousands of cells costing exactly 1) and their costs span
# 1e-3 to 1e7: HiGHS's dual simplex then sometimes wanders, and which setting wanders depends on the
# block (on the 1× demo, one year took 71,000 iterations and 80 s unscaled but 3,400 iterations
# scaled by 2⁻⁴; another year the reverse). So each question tries the settings below in turn,
# each stopped after ITERATION_LIMIT iterations (solved blocks need 300–4,000), then the first
# without a limit. An iteration count, not a time: the result never depends on the machine's speed.
ITERATION_LIMIT = 8000
SOLVER_SETTINGS = (
    {"user_objective_scale": 0, "random_seed": 0},
    {"user_objective_scale": -4, "random_seed": 0},
    {"user_objective_scale": 0, "random_seed": 1},
    {"user_objective_scale": -4, "random_seed": 1},
)


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
    Returns (cells to withhold, witnesses). No relation links two blocks (a year, a block of
    measures): each is solved on its own. (Not in threads: HiGHS keeps the interpreter's lock while
    it solves, so two threads take as long as one.)"""
    results = [
        _protect_block(cube, groups, hidden, cost, year, measures, mine)
        for year, measures, mine in blocks_of(cube, groups, owners)
    ]
    withheld = hidden.copy()
    for newly, _ in results:
        withheld[newly] = True
    found = [witnesses for _, witnesses in results]
    return np.flatnonzero(withheld & ~hidden), sum(found, Witnesses.empty())


def _protect_block(cube, groups, hidden, cost, year, measures, mine):
    """One block's owners: (cells to withhold, witnesses)."""
    cells = year_cells(cube, year, measures)
    withheld = hidden[cells] & cube.published[cells]
    price = np.where(cube.published[cells] & ~hidden[cells], cost[cells], FREE_MOVE_COST)
    programme = _ChangeProgramme(cube, groups, cells)
    found = []
    pending = [mine]
    while pending:  # a change that is not whole: each half of its owners on its own
        together = pending.pop()
        change = programme.cheapest(np.searchsorted(cells, together), price)
        whole = change is not None and np.all(np.abs(change - np.round(change)) < EPS)
        if not whole:
            if together.size > 1:
                pending += [together[: together.size // 2], together[together.size // 2 :]]
            continue
        moved = np.abs(change) > EPS
        newly = moved & cube.published[cells] & ~withheld
        withheld[newly], price[newly] = True, FREE_MOVE_COST
        at, delta = cells[moved], np.round(change[moved]).astype(np.int64)
        k = together.size
        found.append(Witnesses(np.repeat(together, at.size), np.tile(at, k),
                               np.tile(delta, k)))  # fmt: skip
    newly = cells[withheld & ~hidden[cells]]
    return newly, sum(found, Witnesses.empty())


class _ChangeProgramme:
    """The change d = p − n over a block's `cells` (p, n ≥ 0: how far each cell goes up, down),
    every relation and known bound holding, each unit of p and n costing the cell's price. Built
    once per block: each question sets its owners' bounds (p ≥ 4, n = 0) and the prices."""

    def __init__(self, cube: Cube, groups: list[Groups], cells: np.ndarray):
        relations = year_relations(cube, groups, cells)
        n = self.n = cells.size
        value = cube.value[cells].astype(np.float64)
        low, high = known_bounds(cube, cells)
        # Every cell's true value lies within what the attacker knows of it: up ≥ 0, down ≥ 0.
        self.up = np.where(np.isinf(high), INF, np.maximum(high - value, 0.0))
        self.down = np.maximum(value - low, 0.0)
        # Σ coef·(value + p − n) within the sense's bounds: Σ coef·(p − n) within them, shifted.
        balance = np.bincount(
            relations.group, relations.coef * value[relations.cell], relations.n_groups
        )
        row_low, row_high = relations.bounds()
        matrix = (
            np.concatenate([relations.group, relations.group]),
            np.concatenate([relations.cell, n + relations.cell]),
            np.concatenate([relations.coef, -relations.coef]),
        )
        self.highs = _highs(
            np.zeros(2 * n),
            np.zeros(2 * n),
            np.concatenate([self.up, self.down]),
            matrix,
            row_low - balance,
            row_high - balance,
        )
        self.columns = np.arange(2 * n, dtype=np.int32)

    def cheapest(self, owners: np.ndarray, price: np.ndarray) -> np.ndarray | None:
        """The cheapest change (per cell, by `price` per unit) taking every owner (local numbers)
        at least 4 higher; None when there is none."""
        highs, n = self.highs, self.n
        highs.changeColsCost(self.columns.size, self.columns, np.concatenate([price, price]))
        columns = np.concatenate([owners, n + owners]).astype(np.int32)
        zeros = np.zeros(owners.size)
        highs.changeColsBounds(
            columns.size, columns, np.concatenate([np.full(owners.size, float(STEP)), zeros]),
            np.concatenate([self.up[owners], zeros]),
        )  # fmt: skip
        try:
            if _solve(highs) != highspy.HighsModelStatus.kOptimal:
                return None
            x = np.asarray(highs.getSolution().col_value)
            return x[:n] - x[n:]
        finally:
            highs.changeColsBounds(
                columns.size, columns, np.concatenate([zeros, zeros]),
                np.concatenate([self.up[owners], self.down[owners]]),
            )  # fmt: skip


def _solve(highs: highspy.Highs) -> highspy.HighsModelStatus:
    """Run the model with each of SOLVER_SETTINGS until one finishes within ITERATION_LIMIT
    iterations, then with the first setting and no limit; its final status."""
    tries = [(settings, ITERATION_LIMIT) for settings in SOLVER_SETTINGS]
    tries.append((SOLVER_SETTINGS[0], highspy.kHighsIInf))
    for settings, limit in tries:
        for name, value in settings.items():
            highs.setOptionValue(name, value)
        highs.setOptionValue("simplex_iteration_limit", limit)
        # From scratch (presolve included): a start from the previous basis, whose owners were
        # others, can take a hundred times longer.
        highs.clearSolver()
        highs.run()
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kIterationLimit:
            return status
    return status
