"""The auditor: plays the attacker against what is about to be published (DESIGN §6).

The attacker knows every published number, every relation between cells (etl/disclosure/relations.py),
that counts are whole and never negative, and which withheld cells are zero or positive where another
column says so. For each withheld cell whose true count is 1–4 it computes the smallest and the
largest value the cell can take under all of that at once: a linear programme (HiGHS), published
cells being constants and only withheld cells variables.

The requirement (DESIGN §6): the attacker's interval [min, max] holds at least five whole values
(max − min ≥ 4) and one of them is 5 or more (max ≥ 5). Otherwise the cell is a breach.

Published crossings only (etl/disclosure/crossings.py), but the detail they leave unpublished (a
commune's quarters by theme…) is in the problem as unknowns: published margins constrain it. No
relation links two years, so each year is one programme (etl/disclosure/programme.py). A witness
(etl/disclosure/moves.py) checked against every relation proves a cell safe without a programme;
for the others one programme first pushes every one of them up to its target at once
(`max(5, value + 4)`, which meets the requirement since min ≤ value): a vertex of the feasible set
that is whole and reaches a cell's target proves that cell safe. Cells left over get their exact
maximum, then their minimum. Where the linear optimum is fractional, the whole-number one is
computed (MIP).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import highspy
import numpy as np

from etl.disclosure.cube import SMALLEST_PUBLISHED_COUNT, Cube
from etl.disclosure.moves import Model, Witnesses, verify
from etl.disclosure.programme import (
    Relations,
    blocks_of,
    known_bounds,
    year_cells,
    year_relations,
)
from etl.disclosure.relations import Groups

INF = highspy.kHighsInf
PROTECTION_WIDTH = 4  # max − min ≥ 4: five whole values at least
EPS = 1e-6
MIP_SECONDS = 20.0  # one whole-number programme at most


@dataclass
class AuditResult:
    """What the attacker can say about each withheld sensitive cell."""

    cells: np.ndarray  # rows of the cells frame: withheld cells with a true count of 1–4
    lower: np.ndarray  # the attacker's min of each
    upper: np.ndarray  # and max
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)

    @property
    def breached(self) -> np.ndarray:
        """Rows of the cells that do not meet the requirement."""
        bad = (self.upper < SMALLEST_PUBLISHED_COUNT - EPS) | (
            self.upper - self.lower < PROTECTION_WIDTH - EPS
        )
        return self.cells[bad]


@dataclass
class _Problem:
    """The attacker's linear system over the withheld cells (variables numbered 0…n-1)."""

    cell_of_var: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    row_group: np.ndarray  # per entry: the row (relation) number, rows with 2+ variables only
    row_var: np.ndarray
    row_coef: np.ndarray
    row_lower: np.ndarray  # per row
    row_upper: np.ndarray


def _problem(
    values: np.ndarray, hidden: np.ndarray, known_positive: np.ndarray, rel: Relations
) -> _Problem:
    """Published cells substituted as constants; a relation with one withheld cell becomes a bound."""
    cell_of_var = np.flatnonzero(hidden)
    var_of_cell = np.full(hidden.size, -1, dtype=np.int64)
    var_of_cell[cell_of_var] = np.arange(cell_of_var.size)
    lower = np.zeros(cell_of_var.size)
    upper = np.full(cell_of_var.size, INF)
    known = known_positive[cell_of_var]
    lower[known == 1] = 1
    upper[known == 0] = 0

    is_hidden = hidden[rel.cell]
    n_hidden = np.bincount(rel.group, weights=is_hidden, minlength=rel.n_groups)
    constant = np.bincount(
        rel.group,
        weights=np.where(is_hidden, 0, rel.coef * values[rel.cell]),
        minlength=rel.n_groups,
    )
    # Σ withheld coef·x  (= / ≤ / ≥)  −constant
    row_lo = np.where(rel.sense >= 0, -constant, -INF)
    row_hi = np.where(rel.sense <= 0, -constant, INF)

    single = is_hidden & (n_hidden[rel.group] == 1)
    var, coef, group = var_of_cell[rel.cell[single]], rel.coef[single], rel.group[single]
    lo, hi = row_lo[group] / coef, row_hi[group] / coef  # coef is ±1
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    np.maximum.at(lower, var, lo)
    np.minimum.at(upper, var, hi)

    multi = is_hidden & (n_hidden[rel.group] >= 2)
    groups, row_of_group = np.unique(rel.group[multi], return_inverse=True)
    return _Problem(
        cell_of_var,
        lower,
        upper,
        row_of_group,
        var_of_cell[rel.cell[multi]],
        rel.coef[multi].astype(np.float64),
        row_lo[groups],
        row_hi[groups],
    )


def propagate(problem: _Problem, rounds: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Bounds every whole-number solution obeys, by tightening each variable from each relation in
    turn (what an attacker with a pencil does: 7 cells of at least 1 adding up to 7 are all 1).
    These are outer bounds: a cell they squeeze is certainly disclosed."""
    lower, upper = problem.lower.copy(), problem.upper.copy()
    row, var, coef = problem.row_group, problem.row_var, problem.row_coef
    n_rows = problem.row_lower.size
    if row.size == 0:
        return lower, upper
    for _ in range(rounds):
        low_part = np.where(coef > 0, coef * lower[var], coef * upper[var])
        high_part = np.where(coef > 0, coef * upper[var], coef * lower[var])
        low_inf, high_inf = np.isinf(low_part), np.isinf(high_part)
        low_sum = np.bincount(row, np.where(low_inf, 0, low_part), n_rows)
        high_sum = np.bincount(row, np.where(high_inf, 0, high_part), n_rows)
        low_n = np.bincount(row, low_inf, n_rows)
        high_n = np.bincount(row, high_inf, n_rows)
        # Σ a·x ≤ U: a_i·x_i ≤ U − (the others at their smallest); ≥ L likewise.
        others_low = np.where(
            low_n[row] - low_inf == 0, low_sum[row] - np.where(low_inf, 0, low_part), -INF
        )
        others_high = np.where(
            high_n[row] - high_inf == 0, high_sum[row] - np.where(high_inf, 0, high_part), INF
        )
        with np.errstate(invalid="ignore"):
            at_most = problem.row_upper[row] - others_low  # bound on a_i·x_i
            at_least = problem.row_lower[row] - others_high
        new_upper = np.where(coef > 0, at_most, -at_least)
        new_lower = np.where(coef > 0, at_least, -at_most)
        upper_next, lower_next = upper.copy(), lower.copy()
        np.minimum.at(upper_next, var, np.nan_to_num(new_upper, nan=INF, posinf=INF))
        np.maximum.at(lower_next, var, np.nan_to_num(new_lower, nan=-INF, neginf=-INF))
        upper_next = np.floor(upper_next + EPS)
        lower_next = np.ceil(lower_next - EPS)
        if np.array_equal(upper_next, upper) and np.array_equal(lower_next, lower):
            break
        lower, upper = lower_next, upper_next
    return lower, upper


class _Bin:
    """One bin's linear programme in HiGHS, kept loaded: each question changes costs and bounds only,
    and the simplex starts from the previous basis."""

    def __init__(self, problem: _Problem, variables: np.ndarray):
        local = np.full(problem.lower.size, -1, dtype=np.int64)
        local[variables] = np.arange(variables.size)
        entries = np.flatnonzero(local[problem.row_var] >= 0)
        rows, row_of_entry = np.unique(problem.row_group[entries], return_inverse=True)
        columns = local[problem.row_var[entries]]
        order = np.lexsort((row_of_entry, columns))
        self.lower = problem.lower[variables]
        self.upper = problem.upper[variables]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = variables.size, rows.size
        lp.col_cost_ = np.zeros(variables.size)
        lp.col_lower_, lp.col_upper_ = self.lower, self.upper
        lp.row_lower_, lp.row_upper_ = problem.row_lower[rows], problem.row_upper[rows]
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.searchsorted(columns[order], np.arange(variables.size + 1))
        lp.a_matrix_.index_ = row_of_entry[order].astype(np.int32)
        lp.a_matrix_.value_ = problem.row_coef[entries][order]
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        self.n = variables.size
        self.mip_solves = 0
        self.lp_solves = 0

    def solve(self, cost: dict[int, float] | np.ndarray, maximise: bool = True) -> np.ndarray:
        """The optimal values of every variable for `cost` (dense array)."""
        highs = self.highs
        highs.changeObjectiveSense(
            highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
        )
        highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
        highs.run()
        self.lp_solves += 1
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded:
            return np.full(self.n, INF if maximise else -INF)
        if status != highspy.HighsModelStatus.kOptimal:  # pragma: no cover - true data is feasible
            raise RuntimeError(f"Audit : programme linéaire sans solution ({status}).")
        return np.asarray(highs.getSolution().col_value)

    def cap(self, variables: np.ndarray, caps: np.ndarray | None) -> None:
        """Cap `variables` at `caps` (None: their own bounds again)."""
        upper = self.upper[variables] if caps is None else np.minimum(self.upper[variables], caps)
        self.highs.changeColsBounds(
            variables.size, variables.astype(np.int32), self.lower[variables], upper
        )

    def extreme(self, variable: int, maximise: bool) -> float:
        """The attacker's whole-number max (or min) of one variable."""
        cost = np.zeros(self.n)
        cost[variable] = 1.0
        x = self.solve(cost, maximise)
        value = x[variable]
        if not np.isfinite(value) or _integral(x):
            return float(value)
        return self._mip_extreme(variable, maximise)

    def _mip_extreme(self, variable: int, maximise: bool) -> float:
        """The whole-number optimum; when time runs out, the best whole solution found (a value
        the cell can take: the requirement judged on it is stricter, never looser), NaN if none."""
        with self._whole():
            self.mip_solves += 1
            if self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                bound = self.highs.getInfo().mip_dual_bound
                return float(np.floor(bound + EPS) if maximise else np.ceil(bound - EPS))
            if self.highs.getInfo().primal_solution_status != 2:  # no whole solution found
                return float("nan")
            return float(np.round(self.highs.getSolution().col_value[variable]))

    def whole_push(self, variables: np.ndarray, targets: np.ndarray) -> np.ndarray | None:
        """A whole solution pushing `variables` towards their targets at once (the best found
        within MIP_SECONDS), or None: any whole solution is a proof for the cells it takes to
        their target."""
        cost = np.zeros(self.n)
        cost[variables] = 1.0
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
        self.cap(variables, targets)
        try:
            with self._whole():
                self.mip_solves += 1
                if self.highs.getInfo().primal_solution_status != 2:
                    return None
                return np.round(np.asarray(self.highs.getSolution().col_value))
        finally:
            self.cap(variables, None)

    @contextmanager
    def _whole(self):
        """Run the model with every variable whole, within MIP_SECONDS."""
        highs = self.highs
        everything = np.arange(self.n, dtype=np.int32)
        highs.changeColsIntegrality(
            self.n, everything, np.full(self.n, highspy.HighsVarType.kInteger)
        )
        highs.setOptionValue("time_limit", MIP_SECONDS)
        try:
            highs.run()
            yield
        finally:
            highs.setOptionValue("time_limit", INF)
            highs.changeColsIntegrality(
                self.n, everything, np.full(self.n, highspy.HighsVarType.kContinuous)
            )


def _integral(x: np.ndarray) -> bool:
    return bool(np.all(np.abs(x - np.round(x)) < EPS))


def _audit_bin(
    problem: _Problem, variables: np.ndarray, sensitive: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Min and max of the sensitive variables of one bin (`sensitive`: local numbers)."""
    model = _Bin(problem, variables)
    lower = np.full(sensitive.size, np.nan)  # not computed where the maximum proves it safe
    upper = np.full(sensitive.size, np.nan)
    target = np.maximum(SMALLEST_PUBLISHED_COUNT, values + PROTECTION_WIDTH).astype(np.float64)
    remaining = np.arange(sensitive.size)
    while remaining.size:
        # Every remaining cell pushed up to its target at once (capped, so none takes all).
        cost = np.zeros(model.n)
        cost[sensitive[remaining]] = 1.0
        model.cap(sensitive[remaining], target[remaining])
        x = model.solve(cost)
        model.cap(sensitive[remaining], None)
        reached = x[sensitive[remaining]] >= target[remaining] - EPS
        if not reached.any() or not _integral(x):
            break
        upper[remaining[reached]] = x[sensitive[remaining[reached]]]
        remaining = remaining[~reached]
    if remaining.size:  # fractional vertices: one whole solution that reaches the targets
        x = model.whole_push(sensitive[remaining], target[remaining])
        if x is not None:
            reached = x[sensitive[remaining]] >= target[remaining] - EPS
            upper[remaining[reached]] = x[sensitive[remaining[reached]]]
            remaining = remaining[~reached]
    for i in remaining:
        upper[i] = model.extreme(sensitive[i], maximise=True)
        if (
            upper[i] < target[i] - EPS
            and upper[i] >= SMALLEST_PUBLISHED_COUNT - EPS
            or upper[i] < SMALLEST_PUBLISHED_COUNT - EPS
        ):
            lower[i] = model.extreme(sensitive[i], maximise=False)
            if np.isnan(lower[i]):  # no whole minimum within the time: not proven
                upper[i] = np.nan
    stats = {"lp": model.lp_solves, "mip": model.mip_solves, "individual": int(remaining.size)}
    return lower, upper, stats


@dataclass
class AuditReport:
    """What the attacker obtains on a release: every breach, with the interval it leaves."""

    sensitive_withheld: int
    published_small: np.ndarray  # cells of 1–4 published as they are (never expected)
    by_witness: int  # withheld 1–4 proven safe by a witness
    by_programme: int  # …by the linear programme
    breaches: np.ndarray  # cells that fail the requirement or could not be proven safe
    lower: np.ndarray  # the attacker's bounds on each breach (lower = upper: recovered exactly)
    upper: np.ndarray
    seconds: float
    unproven: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @staticmethod
    def nothing() -> AuditReport:
        none = np.zeros(0, dtype=np.int64)
        return AuditReport(0, none, 0, 0, none, np.zeros(0), np.zeros(0), 0.0)

    @property
    def ok(self) -> bool:
        return self.published_small.size == 0 and self.breaches.size == 0

    @property
    def exactly_recovered(self) -> int:
        return int(np.sum(self.lower == self.upper))


def audit_release(
    cube: Cube,
    groups: list[Groups],
    hidden: np.ndarray,
    witnesses: Witnesses | None = None,
    programme_seconds: float = 120.0,
) -> AuditReport:
    """Play the attacker on `hidden` (the withheld cells of `cube`'s published crossings).

    Each withheld 1–4 is proven safe by a witness (the method's, checked here against every
    relation) or else by the year's linear programme: one whole solution that takes it to
    max(5, value + 4), or its exact min and max (whole numbers) within `programme_seconds`, after
    which a cell still undecided counts as a breach (unproven).
    """
    started = time.perf_counter()
    sensitive = cube.sensitive()
    published_small = np.flatnonzero(sensitive & ~hidden)
    targets = np.flatnonzero(sensitive & hidden)
    safe = targets[:0]
    if witnesses is not None:
        safe = verify(Model(cube, groups, cube.model), witnesses.of(targets), hidden)
    rest = np.setdiff1d(targets, safe)
    by_witness = targets.size - rest.size
    lower, upper = np.full(rest.size, np.nan), np.full(rest.size, np.nan)
    for year, measures, owners in blocks_of(cube, groups, rest):
        if time.perf_counter() - started > programme_seconds:
            break
        mine = np.searchsorted(rest, owners)
        lower[mine], upper[mine] = _block_bounds(cube, groups, hidden, year, measures, owners)
    failing = _fails(lower, upper) | np.isnan(upper)
    return AuditReport(
        int(targets.size),
        published_small,
        int(by_witness),
        int(rest.size - failing.sum()),
        rest[failing],
        lower[failing],
        upper[failing],
        time.perf_counter() - started,
        rest[np.isnan(upper)],
    )


def block_problem(
    cube: Cube, groups: list[Groups], hidden: np.ndarray, year: int, measures: np.ndarray
) -> tuple[_Problem, np.ndarray]:
    """The attacker's problem for one year and block of measures, and the model cells it is over
    (variables: withheld and unpublished cells; published cells are constants)."""
    cells = year_cells(cube, year, measures)
    low, high = known_bounds(cube, cells)
    known = np.where(low >= 1, 1, np.where(high <= 0, 0, -1)).astype(np.int8)
    unknown = hidden[cells] | ~cube.published[cells]
    problem = _problem(cube.value[cells], unknown, known, year_relations(cube, groups, cells))
    return problem, cells


def _block_bounds(cube, groups, hidden, year, measures, owners) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's (min, max) of `owners`, all in one block (min -inf where the max proves
    it safe)."""
    problem, cells = block_problem(cube, groups, hidden, year, measures)
    var_of_cell = np.full(cells.size, -1, dtype=np.int64)
    var_of_cell[problem.cell_of_var] = np.arange(problem.cell_of_var.size)
    variables = var_of_cell[np.searchsorted(cells, owners)]
    lower, upper, _ = _audit_bin(
        problem, np.arange(problem.lower.size), variables, cube.value[owners].astype(np.float64)
    )
    return np.where(np.isnan(lower), -np.inf, lower), upper


def _fails(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (upper < SMALLEST_PUBLISHED_COUNT - EPS) | (upper - lower < PROTECTION_WIDTH - EPS)


def proven_breaches(
    cube: Cube, groups: list[Groups], hidden: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The withheld 1–4 that bound propagation alone discloses (cells, lower, upper): a quick
    attacker that needs no witness, for tests and the comparison of methods."""
    found = [], [], []
    cells_all = np.flatnonzero(cube.sensitive() & hidden)
    for year, measures, owners in blocks_of(cube, groups, cells_all):
        problem, cells = block_problem(cube, groups, hidden, year, measures)
        var_of_cell = np.full(cells.size, -1, dtype=np.int64)
        var_of_cell[problem.cell_of_var] = np.arange(problem.cell_of_var.size)
        low, high = propagate(problem)
        variables = var_of_cell[np.searchsorted(cells, owners)]
        low, high = low[variables], high[variables]
        failing = _fails(low, high)
        for part, values in zip(found, (owners, low, high), strict=True):
            part.append(values[failing])
    if not found[0]:
        return cells_all, np.zeros(0), np.zeros(0)
    cells, low, high = (np.concatenate(part) for part in found)
    return cells, low, high
