"""Finding witnesses (etl/disclosure/witness.py) for many cells at once.

For each key a few alternatives are listed, cheapest first (the cell and a withheld sibling going
down, then its total going up, …); every cell starts with the first of each key and, when its move
fails, moves on in the keys that are to blame. `allowed` says which cells a move may use: only
withheld ones for the auditor; any reported cell for the protection method, which then withholds
the cells of the moves it keeps. Siblings and parts are chosen withheld first, then smallest.
The last resort, `box`, only moves cells up (the cell, its totals and one part of each total it
is): it needs no cell to hold 4, so it exists for every cell, at the price of withholding totals.
"""

from __future__ import annotations

import itertools

import numpy as np

from etl.disclosure.relations import STOCKS
from etl.disclosure.table import NONE, Table
from etl.disclosure.witness import (
    CATEGORY,
    DIMS,
    LIEU,
    MAX_ROUNDS,
    MEASURE,
    QUARTER,
    STEP,
    THEME,
    UNUSED,
    Witnesses,
    failures,
)

PAIRS = (("femmes", "hommes"), ("mineurs", "seniors_65"))
SINGLE_PARTS = ("nouvelles_personnes",)
DOWN, UP = -1, 1
CHUNK = 20_000  # cells whose moves are built at once (memory: corners × 6 coordinates)


class Search:
    def __init__(self, table: Table, allowed: np.ndarray, cost: np.ndarray):
        self.t = table
        self.allowed = allowed
        # Per cell, the price of using it: 0 when withheld already (or allowed for free).
        self.cost = cost
        self._lines: dict = {}
        c = table.code
        self.star = {key: c(key, "*") for key in ("theme", "lieu", "category")}
        self.ge = c("lieu", "GE")
        self.elsewhere = np.array(
            [x for x in (c("lieu", "hors_canton"), c("lieu", "non_renseignee")) if x != NONE]
        )
        lieux = table.labels["lieu"]
        self.communes = np.array([i for i, x in enumerate(lieux) if str(x).isdigit()], dtype=int)
        quarters = table.labels["quarter"]
        self.year = c("quarter", 0)
        self.quarters = np.array([i for i, q in enumerate(quarters) if q != 0], dtype=int)
        self.q4 = c("quarter", 4)
        self.m = {name: c("measure", name) for name in table.labels["measure"]}
        self.stocks = np.array([self.m[s] for s in STOCKS if s in self.m], dtype=int)

    # --- choosing a sibling or a part ------------------------------------------------------------

    def _candidates(self, dim: int, pool: tuple, direction: int):
        """Per line (all coordinates but `dim`), the two best cells of `pool` to move."""
        key = (dim, pool, direction)
        if key in self._lines:
            return self._lines[key]
        t = self.t
        cells = np.flatnonzero(np.isin(t.codes[:, dim], np.array(pool, dtype=int)))
        usable = self.allowed[cells] & t.reported[cells]
        if direction == DOWN:
            usable &= t.value[cells] >= STEP + t.lower[cells]
        else:
            usable &= np.isinf(t.upper[cells])
        cells = cells[usable]
        line = t.key_of(t.codes[cells]) - t.codes[cells, dim] * t._radix[dim]
        order = np.lexsort((t.codes[cells, dim], t.value[cells], self.cost[cells], line))
        cells, line = cells[order], line[order]
        first = np.flatnonzero(np.diff(line, prepend=-1) != 0)
        second = first + 1
        has_second = (second < line.size) & (line[np.minimum(second, line.size - 1)] == line[first])
        lines = line[first]
        best = t.codes[cells[first], dim]
        runner = np.where(has_second, t.codes[cells[np.minimum(second, cells.size - 1)], dim], NONE)
        self._lines[key] = (lines, best, runner)
        return self._lines[key]

    def pick(self, coords: np.ndarray, dim: int, pool, direction: int) -> np.ndarray:
        """For each coordinate row, the best other coordinate of `pool` in `dim` on its line."""
        pool = tuple(int(x) for x in np.atleast_1d(pool))
        out = np.full(coords.shape[0], NONE, dtype=np.int64)
        if not pool or coords.shape[0] == 0:
            return out
        lines, best, runner = self._candidates(dim, pool, direction)
        if lines.size == 0:
            return out
        line = self.t.key_of(coords) - coords[:, dim] * self.t._radix[dim]
        at = np.minimum(np.searchsorted(lines, line), lines.size - 1)
        found = lines[at] == line
        choice = np.where(best[at] != coords[:, dim], best[at], runner[at])
        return np.where(found, choice, NONE)

    # --- the alternatives of each key -----------------------------------------------------------

    def alternatives(self, coords: np.ndarray, dim: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The alternatives of one key for each row: (coordinates, signs), both (rows, width),
        UNUSED for a slot not used, NONE for one that would be needed but does not exist."""
        own = coords[:, dim]
        builder = {
            QUARTER: self._quarter,
            THEME: self._theme,
            LIEU: self._lieu,
            CATEGORY: self._category,
            MEASURE: self._measure,
        }[dim]
        return _pad([_stack(own, parts) for parts in builder(coords, own)])

    def _theme(self, coords, own):
        star = self.star["theme"]
        themes = [i for i in range(len(self.t.labels["theme"])) if i != star]
        total = own == star
        sibling = self.pick(coords, THEME, themes, DOWN)
        part = _or_unused(self.pick(coords, THEME, themes, UP))
        return [
            [(np.where(total, part, sibling), np.where(total, 1, -1))],
            [(np.where(total, part, star), 1)],
        ]

    def _lieu(self, coords, own):
        star, ge, elsewhere, communes = self.star["lieu"], self.ge, self.elsewhere, self.communes
        is_commune = np.isin(own, communes)
        is_ge, is_star = own == ge, own == star
        is_elsewhere = np.isin(own, elsewhere)
        commune_down = self.pick(coords, LIEU, communes, DOWN)
        commune_up = self.pick(coords, LIEU, communes, UP)
        elsewhere_down = self.pick(coords, LIEU, elsewhere, DOWN)
        elsewhere_up = self.pick(coords, LIEU, elsewhere, UP)
        unused = np.full(own.size, UNUSED)

        def by_kind(commune, ge_, other, star_):
            return np.select(
                [is_commune, is_ge, is_elsewhere, is_star], [commune, ge_, other, star_], UNUSED
            )

        first = [
            (by_kind(commune_down, commune_up, elsewhere_down, elsewhere_up),
             by_kind(-1, 1, -1, 1)),
            (by_kind(unused, star, unused, unused), 1),
        ]  # fmt: skip
        second = [
            (by_kind(ge, commune_up, star, ge), 1),
            (by_kind(elsewhere_down, elsewhere_down, unused, commune_up), by_kind(-1, -1, 1, 1)),
        ]
        third = [
            (by_kind(ge, commune_up, star, ge), 1),
            (by_kind(star, star, unused, commune_up), 1),
        ]
        return [first, second, third]

    def _category(self, coords, own):
        star = self.star["category"]
        categories = [i for i in range(len(self.t.labels["category"])) if i != star]
        total = own == star
        sibling = self.pick(coords, CATEGORY, categories, DOWN)
        part = _or_unused(self.pick(coords, CATEGORY, categories, UP))
        return [
            [],
            [(np.where(total, part, sibling), np.where(total, 1, -1))],
            [(np.where(total, part, star), 1)],
        ]

    def _quarter(self, coords, own):
        stock = np.isin(coords[:, MEASURE], self.stocks)
        year, q4 = self.year, self.q4
        is_year = own == year
        sibling = np.where(stock, UNUSED, self.pick(coords, QUARTER, self.quarters, DOWN))
        part = _or_unused(
            np.where(
                stock,
                self.pick(coords, QUARTER, [q4], UP),
                self.pick(coords, QUARTER, self.quarters, UP),
            )
        )
        # A stock's quarter other than the fourth is in no relation: it moves alone.
        lone = stock & ~is_year & (own != q4)
        up = np.where(lone, UNUSED, np.where(is_year, part, year))
        return [
            [],
            [(np.where(lone, UNUSED, np.where(is_year, part, np.where(stock, year, sibling))),
              np.where(is_year | stock, 1, -1))],
            [(up, 1)],
        ]  # fmt: skip

    def _measure(self, coords, own):
        m = self.m
        p = m.get("personnes", NONE)
        pairs = [[m[x] for x in pair if x in m] for pair in PAIRS]
        singles = [m[x] for x in SINGLE_PARTS if x in m]
        sibling = np.full(own.size, UNUSED)
        for pair in pairs:
            down = self.pick(coords, MEASURE, pair, DOWN)
            sibling = np.where(np.isin(own, pair) & (len(pair) == 2), down, sibling)
        is_part = np.isin(own, [x for pair in pairs for x in pair] + singles)
        parent = np.where(is_part, p, UNUSED)
        # Persons up: one part of each of its relations goes up with it (for a part going up
        # with persons, one part of each of the other relations).
        ups = [
            np.where(
                ((own == p) | is_part) & ~np.isin(own, group),
                _or_unused(self.pick(coords, MEASURE, group, UP)),
                UNUSED,
            )
            for group in [*pairs, singles]
            if group
        ]
        has_sibling = sibling != UNUSED
        return [
            [],
            [(np.where(has_sibling, sibling, parent), np.where(has_sibling, -1, 1))]
            + [(np.where(has_sibling, UNUSED, u), 1) for u in ups],
            [(parent, 1)] + [(u, 1) for u in ups],
        ]


def _or_unused(picked: np.ndarray) -> np.ndarray:
    return np.where(picked == NONE, UNUSED, picked)


def _stack(own: np.ndarray, parts: list) -> tuple[np.ndarray, np.ndarray]:
    columns = [own] + [np.broadcast_to(np.asarray(c), own.shape) for c, _ in parts]
    signs = [np.ones(own.size, dtype=np.int64)] + [
        np.broadcast_to(np.asarray(s), own.shape) for _, s in parts
    ]
    return np.stack(columns, axis=1).astype(np.int64), np.stack(signs, axis=1).astype(np.int64)


def _pad(alternatives: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    width = max(c.shape[1] for c, _ in alternatives)
    padded = []
    for coords, signs in alternatives:
        extra = width - coords.shape[1]
        if extra:
            coords = np.pad(coords, ((0, 0), (0, extra)), constant_values=UNUSED)
            signs = np.pad(signs, ((0, 0), (0, extra)), constant_values=1)
        padded.append((coords, signs))
    return padded


def corners(own: np.ndarray, moves: dict[int, tuple[np.ndarray, np.ndarray]]):
    """Every combination of the keys' moves: (row of `own`, coordinates, sign, keys moved)."""
    rows, coords, signs, moved = [], [], [], []
    dims = list(moves)
    widths = [moves[d][0].shape[1] for d in dims]
    for slots in itertools.product(*[range(w) for w in widths]):
        corner = own.copy()
        sign = np.ones(own.shape[0], dtype=np.int64)
        active = np.ones(own.shape[0], dtype=bool)
        mask = 0
        for d, s in zip(dims, slots, strict=True):
            column, column_sign = moves[d][0][:, s], moves[d][1][:, s]
            active &= column != UNUSED
            corner[:, d] = column
            sign = sign * column_sign
            mask |= (s != 0) << d
        at = np.flatnonzero(active)
        rows.append(at)
        coords.append(corner[at])
        signs.append(sign[at])
        moved.append(np.full(at.size, mask, dtype=np.int64))
    return (
        np.concatenate(rows),
        np.concatenate(coords),
        np.concatenate(signs),
        np.concatenate(moved),
    )


def _moves_for(search: Search, cells: np.ndarray, state: np.ndarray):
    """The moves of `cells` with the alternative `state[:, i]` of each key DIMS[i]."""
    coords = search.t.codes[cells]
    moves = {}
    for i, dim in enumerate(DIMS):
        alternatives = search.alternatives(coords, dim)
        choice = np.minimum(state[:, i], len(alternatives) - 1)
        stacked_coords = np.stack([c for c, _ in alternatives])  # (alternatives, rows, width)
        stacked_signs = np.stack([s for _, s in alternatives])
        rows = np.arange(cells.size)
        moves[dim] = (stacked_coords[choice, rows], stacked_signs[choice, rows])
    return coords, moves, [len(search.alternatives(coords[:1], d)) for d in DIMS]


def _try(
    search: Search, cells: np.ndarray, coords: np.ndarray, moves
) -> tuple[Witnesses, np.ndarray]:
    """The witnesses that hold among these moves, and each cell's blame (0 where it holds)."""
    row, corner, sign, moved = corners(coords, moves)
    found = search.t.find(corner)
    owners, blame = failures(search.t, row, found, sign, moved, search.allowed)
    blame_of_row = np.zeros(cells.size, dtype=np.int64)
    blame_of_row[owners] = blame
    holds = np.isin(row, owners[blame == 0])
    return Witnesses(cells[row[holds]], found[holds], sign[holds].astype(np.int8)), blame_of_row


def find(search: Search, owners: np.ndarray, adopt) -> tuple[Witnesses, np.ndarray]:
    """Witnesses for as many `owners` as possible; the owners left without one.

    `adopt(witnesses)` is called with each batch found (the method withholds their cells and makes
    them free for the next moves); the auditor passes a function that does nothing.
    """
    found = Witnesses.empty()
    left = []
    for start in range(0, owners.size, CHUNK):
        pending = owners[start : start + CHUNK]
        state = np.zeros((pending.size, len(DIMS)), dtype=np.int64)
        for _ in range(MAX_ROUNDS):
            if pending.size == 0:
                break
            coords, moves, n_alternatives = _moves_for(search, pending, state)
            witnesses, blame = _try(search, pending, coords, moves)
            if witnesses.owner.size:
                adopt(witnesses)
                found = found + witnesses
            failing = blame != 0
            blamed = (blame[:, None] >> np.array(DIMS)) & 1 == 1
            last = state >= np.array(n_alternatives) - 1
            exhausted = failing & ((blamed & last).any(axis=1) | ~blamed.any(axis=1))
            left.append(pending[exhausted])
            state = state + (blamed & ~last)
            keep = failing & ~exhausted
            pending, state = pending[keep], state[keep]
        left.append(pending)
    return found, np.concatenate(left) if left else owners[:0]


def box(search: Search, owners: np.ndarray) -> Witnesses:
    """The last resort: moves that only go up (see the module docstring), built key after key
    along one existing part so that every combination exists. The parts of persons that go up
    with it are needed only where a relation between measures is exact: each subset is tried."""
    t = search.t
    coords = t.codes[owners].copy()
    descended = coords.copy()
    moves = {}
    for dim in (THEME, LIEU, CATEGORY, QUARTER, MEASURE):
        all_up = search.alternatives(descended, dim)[-1]
        own_column = np.broadcast_to(coords[:, dim][:, None], all_up[0][:, :1].shape)
        moves[dim] = (
            np.concatenate([own_column, all_up[0][:, 1:]], axis=1),
            np.ones_like(all_up[0]),
        )
        if dim != MEASURE:
            deepest = _deepest_part(search, dim, coords[:, dim], all_up[0])
            descended[:, dim] = np.where(deepest >= 0, deepest, descended[:, dim])
    found = Witnesses.empty()
    measure_move = moves[MEASURE][0]
    optional = [k for k in range(1, measure_move.shape[1])]
    pending = np.arange(owners.size)
    for kept in itertools.product((True, False), repeat=len(optional)):
        if pending.size == 0:
            break
        column = measure_move[pending].copy()
        is_parent = column == search.m.get("personnes", NONE)
        for k, keep in zip(optional, kept, strict=True):
            if not keep:
                column[:, k] = np.where(is_parent[:, k], column[:, k], UNUSED)
        trial = {d: (m[0][pending], m[1][pending]) for d, m in moves.items()}
        trial[MEASURE] = (column, trial[MEASURE][1])
        witnesses, blame = _try(search, owners[pending], coords[pending], trial)
        found = found + witnesses
        pending = pending[blame != 0]
    return found


def _deepest_part(search: Search, dim: int, own: np.ndarray, move: np.ndarray) -> np.ndarray:
    """The part a total went down to in its all-up move (NONE when the cell is no total)."""
    if dim == THEME:
        return np.where(own == search.star["theme"], move[:, 1], NONE)
    if dim == CATEGORY:
        return np.where(own == search.star["category"], move[:, 1], NONE)
    if dim == QUARTER:
        return np.where(own == search.year, move[:, 1], NONE)
    total = (own == search.ge) | (own == search.star["lieu"])
    return np.where(total, move[:, 2], NONE)
