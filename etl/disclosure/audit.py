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
from etl.disclosure.search import Search, find
from etl.disclosure.table import Table, known_positive, sensitive_cells
from etl.disclosure.witness import Witnesses, verify

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
    table: Table,
    hidden: np.ndarray,
    witnesses: Witnesses | None = None,
    programme_seconds: float = 60.0,
) -> AuditReport:
    """Play the attacker on `hidden` (the withheld cells of `table`).

    Each withheld 1–4 is proven safe by a witness (the method's, checked here against every
    relation, or one this audit finds among withheld cells), or else bounded: whole-number bound
    propagation proves most breaches; what is left gets its exact min and max from the linear
    programme within `programme_seconds`, after which a cell still undecided counts as a breach.
    """
    started = time.perf_counter()
    sensitive = sensitive_cells(table)
    published_small = np.flatnonzero(sensitive & ~hidden)
    targets = np.flatnonzero(sensitive & hidden)
    safe = verify(table, witnesses.of(targets), hidden) if witnesses is not None else targets[:0]
    rest = np.setdiff1d(targets, safe)
    if rest.size:
        own, _ = find(Search(table, hidden, np.zeros(table.n)), rest, lambda _: None)
        rest = np.setdiff1d(rest, verify(table, own, hidden))
    by_witness = targets.size - rest.size
    lower = np.zeros(0)
    upper = np.zeros(0)
    by_programme = 0
    unproven = rest[:0]
    if rest.size:
        problem = _problem(table.value, hidden, known_positive(table), table.relations)
        var_of_cell = np.full(table.n, -1, dtype=np.int64)
        var_of_cell[problem.cell_of_var] = np.arange(problem.cell_of_var.size)
        low, high = propagate(problem)
        low, high = low[var_of_cell[rest]], high[var_of_cell[rest]]
        proven = _fails(low, high)
        undecided = rest[~proven]
        lo_u, hi_u, unproven = _programme(problem, var_of_cell, undecided, table, programme_seconds)
        failing = _fails(lo_u, hi_u) | np.isnan(hi_u)
        by_programme = int(undecided.size - failing.sum())
        rest = np.concatenate([rest[proven], undecided[failing]])
        lower = np.concatenate([low[proven], lo_u[failing]])
        upper = np.concatenate([high[proven], hi_u[failing]])
    return AuditReport(
        int(targets.size),
        published_small,
        int(by_witness),
        by_programme,
        rest,
        lower,
        upper,
        time.perf_counter() - started,
        unproven,
    )


def _fails(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (upper < SMALLEST_PUBLISHED_COUNT - EPS) | (upper - lower < PROTECTION_WIDTH - EPS)


def _programme(problem, var_of_cell, cells, table, seconds):
    """Exact bounds of `cells` by linear programming, component by component, until `seconds`
    are spent; cells not reached by then are unproven (lower = upper = NaN: counted as breaches)."""
    lower = np.full(cells.size, np.nan)
    upper = np.full(cells.size, np.nan)
    if cells.size == 0:
        return lower, upper, cells
    started = time.perf_counter()
    variables = var_of_cell[cells]
    label = components(problem.lower.size, problem.row_group, problem.row_var)
    done = np.zeros(cells.size, dtype=bool)
    for component in np.unique(label[variables]):
        if time.perf_counter() - started > seconds:
            break
        members = np.flatnonzero(label == component)
        mine = np.flatnonzero(label[variables] == component)
        local = np.searchsorted(members, variables[mine])
        lo, hi, _ = _audit_bin(problem, members, local, table.value[cells[mine]])
        lower[mine], upper[mine] = np.where(np.isnan(lo), -np.inf, lo), hi
        done[mine] = True
    lower[~done] = np.nan
    upper[~done] = np.nan
    return lower, upper, cells[~done]


def proven_breaches(table: Table, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The withheld 1–4 that bound propagation alone discloses (cells, lower, upper): a quick
    attacker that needs no witness, for tests and the comparison of methods."""
    cells = np.flatnonzero(sensitive_cells(table) & hidden)
    problem = _problem(table.value, hidden, known_positive(table), table.relations)
    var_of_cell = np.full(table.n, -1, dtype=np.int64)
    var_of_cell[problem.cell_of_var] = np.arange(problem.cell_of_var.size)
    low, high = propagate(problem)
    low, high = low[var_of_cell[cells]], high[var_of_cell[cells]]
    failing = _fails(low, high)
    return cells[failing], low[failing], high[failing]
