"""The auditor: plays the attacker against what is about to be published (DESIGN §6).

The attacker knows every published number, every relation between cells (etl/disclosure/relations.py),
that counts are whole and never negative, and which withheld cells are zero or positive where another
column says so. For each withheld cell whose true count is 1–4 it computes the smallest and the
largest value the cell can take under all of that at once: a linear programme (HiGHS), published
cells being constants and only withheld cells variables.

The requirement (DESIGN §6): the attacker's interval [min, max] holds at least five whole values
(max − min ≥ 4) and one of them is 5 or more (max ≥ 5). Otherwise the cell is a breach.

To be fast the problem is cut into independent blocks: the connected components of the graph whose
nodes are withheld cells and whose edges are the relations holding two or more of them (a relation
with one withheld cell only bounds it). Components are solved in bins of bounded size. In each bin
one programme first pushes every sensitive cell up to its target at once (`max(5, value + 4)`, which
meets the requirement since min ≤ value): a vertex of the feasible set that is whole and reaches a
cell's target proves that cell safe. Cells left over get their exact maximum, then their minimum.
Where the linear optimum is fractional, the whole-number one is computed (MIP).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from etl.disclosure.relations import SMALLEST_PUBLISHED_COUNT, Relations

INF = highspy.kHighsInf
PROTECTION_WIDTH = 4  # max − min ≥ 4: five whole values at least
BIN_VARIABLES = 4000  # components are solved together up to this many withheld cells
EPS = 1e-6


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


def components(n_vars: int, row: np.ndarray, var: np.ndarray) -> np.ndarray:
    """The component label of each variable (the smallest variable number in it)."""
    label = np.arange(n_vars)
    if row.size == 0:
        return label
    n_rows = int(row.max()) + 1
    while True:
        row_min = np.full(n_rows, n_vars)
        np.minimum.at(row_min, row, label[var])
        new = label.copy()
        np.minimum.at(new, var, row_min[row])
        while True:  # pointer jumping: a label points to a variable whose label is smaller
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, label):
            return label
        label = new


def _bins(label: np.ndarray, wanted: np.ndarray) -> list[np.ndarray]:
    """Variables of the components holding a wanted variable, packed into bins of bounded size."""
    keep = np.isin(label, label[wanted])
    order = np.argsort(label[keep], kind="stable")
    variables = np.flatnonzero(keep)[order]
    labels = label[variables]
    starts = np.flatnonzero(np.diff(labels, prepend=-1) != 0)
    sizes = np.diff(np.append(starts, labels.size))
    bins, current, size = [], [], 0
    for start, n in zip(starts, sizes, strict=True):
        if size and size + n > BIN_VARIABLES:
            bins.append(np.concatenate(current))
            current, size = [], 0
        current.append(variables[start : start + n])
        size += n
    if current:
        bins.append(np.concatenate(current))
    return bins


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
        highs = self.highs
        everything = np.arange(self.n, dtype=np.int32)
        highs.changeColsIntegrality(
            self.n, everything, np.full(self.n, highspy.HighsVarType.kInteger)
        )
        try:
            highs.run()
            self.mip_solves += 1
            # The proven bound (not the incumbent): what the attacker can be sure of.
            bound = highs.getInfo().mip_dual_bound
            return float(np.floor(bound + EPS) if maximise else np.ceil(bound - EPS))
        finally:
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
    for i in remaining:
        upper[i] = model.extreme(sensitive[i], maximise=True)
        if (
            upper[i] < target[i] - EPS
            and upper[i] >= SMALLEST_PUBLISHED_COUNT - EPS
            or upper[i] < SMALLEST_PUBLISHED_COUNT - EPS
        ):
            lower[i] = model.extreme(sensitive[i], maximise=False)
    stats = {"lp": model.lp_solves, "mip": model.mip_solves, "individual": int(remaining.size)}
    return lower, upper, stats


def audit(
    values: np.ndarray, hidden: np.ndarray, known_positive: np.ndarray, relations: Relations
) -> AuditResult:
    """The attacker's interval for every withheld cell whose true count is 1–4.

    `values`: true counts (missing as 0), `hidden`: withheld cells, `known_positive`: 1 / 0 where
    another published column says the count is positive / zero, -1 where it says nothing.
    """
    started = time.perf_counter()
    problem = _problem(values, hidden, known_positive, relations)
    var_values = values[problem.cell_of_var]
    sensitive_vars = np.flatnonzero((var_values >= 1) & (var_values < SMALLEST_PUBLISHED_COUNT))
    lower = problem.lower[sensitive_vars].copy()
    upper = problem.upper[sensitive_vars].copy()
    label = components(problem.lower.size, problem.row_group, problem.row_var)
    in_rows = np.zeros(problem.lower.size, dtype=bool)
    in_rows[problem.row_var] = True
    linked = in_rows[sensitive_vars]
    position = np.full(problem.lower.size, -1, dtype=np.int64)
    position[sensitive_vars] = np.arange(sensitive_vars.size)
    stats = {"withheld": int(problem.lower.size), "sensitive": int(sensitive_vars.size)}
    stats |= {"bins": 0, "lp": 0, "mip": 0, "individual": 0, "largest_bin": 0}
    for variables in _bins(label, sensitive_vars[linked]):
        local_sensitive = np.flatnonzero(position[variables] >= 0)
        where = position[variables[local_sensitive]]
        lo, hi, bin_stats = _audit_bin(
            problem, variables, local_sensitive, var_values[sensitive_vars][where]
        )
        lower[where], upper[where] = lo, hi
        stats["bins"] += 1
        stats["largest_bin"] = max(stats["largest_bin"], int(variables.size))
        for key in ("lp", "mip", "individual"):
            stats[key] += bin_stats[key]
    stats["components"] = int(np.unique(label[sensitive_vars]).size) if sensitive_vars.size else 0
    return AuditResult(
        problem.cell_of_var[sensitive_vars], lower, upper, time.perf_counter() - started, stats
    )
