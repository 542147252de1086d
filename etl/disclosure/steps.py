"""Witnesses built step by step (etl/disclosure/moves.py) for many owners at once.

Each round, every pending owner gets a pattern (etl/disclosure/search.py) and takes it σ times, σ as
large as the cells and relations allow (never more than what is left of 4). An owner whose pattern
cannot be taken at all moves on: the blamed axes of its fibre (measures, categories, quarters) to
their next alternative; then another rectangle, the partners tried banned; then the rectangle's
next alternative. Owners batch after batch, so that later batches reuse what earlier ones withheld.

Owners left without a witness go to the method's last resort, a linear programme
(etl/disclosure/programme.py).
"""

from __future__ import annotations

import numpy as np

from etl.disclosure.cube import CATEGORY, LIEU, MEASURE, THEME, Q
from etl.disclosure.moves import NONE, STEP, Model, Witnesses, limits
from etl.disclosure.search import AXES, MAX_ROUNDS, Search

TRACE = None  # a list to collect (owners, state, blame) of the owners given up (diagnostics)
BATCH = 4000  # owners searched together; a batch sees the cells the earlier ones withheld
MAX_BANS = 6  # rectangles tried per owner before the next alternative of the rectangle
LAST_RESORT_COST = 1e5  # cells this costly (headline figures) are left to the programme


class Moved:
    """Each owner's changes so far (owners numbered 0…n-1 in their batch)."""

    def __init__(self, size: int):
        self.size = np.int64(size)
        self.keys = np.zeros(0, dtype=np.int64)  # row · size + cell, sorted
        self.delta = np.zeros(0, dtype=np.int64)

    def lookup(self, rows: np.ndarray, cells: np.ndarray) -> np.ndarray:
        if self.keys.size == 0:
            return np.zeros(np.broadcast(rows, cells).shape, dtype=np.int64)
        keys = rows * self.size + cells
        at = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        return np.where(self.keys[at] == keys, self.delta[at], 0)

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keep = np.isin(self.keys // self.size, rows)
        return self.keys[keep] // self.size, self.keys[keep] % self.size, self.delta[keep]

    def add(self, rows: np.ndarray, cells: np.ndarray, delta: np.ndarray) -> None:
        keys = np.concatenate([self.keys, rows * self.size + cells])
        deltas = np.concatenate([self.delta, delta])
        unique, where = np.unique(keys, return_inverse=True)
        summed = np.bincount(where, weights=deltas, minlength=unique.size).astype(np.int64)
        self.keys, self.delta = unique[summed != 0], summed[summed != 0]

    def forget(self, rows: np.ndarray) -> None:
        keep = ~np.isin(self.keys // self.size, rows)
        self.keys, self.delta = self.keys[keep], self.delta[keep]


def find(search: Search, owners: np.ndarray, adopt=None) -> tuple[Witnesses, np.ndarray]:
    """Witnesses for as many `owners` as possible, and the owners left without one. `adopt(cells)`
    is called with the cells each round's steps changed (the method withholds them)."""
    found, left = Witnesses.empty(), []
    for start in range(0, owners.size, BATCH):
        batch = owners[start : start + BATCH]
        witnesses, stuck = _search(search, batch, adopt)
        found = found + witnesses
        left.append(stuck)
    return found, np.concatenate(left) if left else owners[:0]


class _Batch:
    """The owners of one batch: their classes, alternatives, changes so far and progress."""

    def __init__(self, search: Search, cells: np.ndarray):
        self.search, self.cells = search, cells
        self.classes = search.classes(search.model.cube.coords(cells))
        self.count = np.array(
            [[len(search.alternatives[a][c]) for c in self.classes[a]] for a in AXES],
            dtype=np.int64,
        ).T
        self.moved = Moved(search.model.cube.size)
        self.done = np.zeros(cells.size, dtype=np.int64)

    def patterns(self, pending, state, banned):
        chosen = {a: c[pending] for a, c in self.classes.items()}
        return self.search.patterns(
            self.cells[pending], state[pending], chosen, self.moved.lookup, pending, banned
        )

    def take(self, pending, corners, signs, sigma, adopt) -> None:
        """Add each owner's pattern σ times (0: nothing) and withhold what changed."""
        taken = sigma > 0
        rows = np.repeat(pending[taken], corners.shape[1])
        cells = corners[taken].reshape(-1)
        step = (signs[taken] * sigma[taken, None]).reshape(-1)
        live = (cells >= 0) & (step != 0)
        changed = Moved(self.search.model.cube.size)
        changed.add(rows[live], cells[live], step[live])  # net: two paths may cancel out
        self.moved.add(*changed.of(pending[taken]))
        if adopt is not None and changed.keys.size:
            adopt(changed.keys % changed.size)
        self.done[pending] += sigma

    def witnesses(self, lost: np.ndarray) -> tuple[Witnesses, np.ndarray]:
        self.moved.forget(lost)
        rows, cells, delta = self.moved.of(np.flatnonzero(self.done >= STEP))
        return Witnesses(self.cells[rows], cells, delta), self.cells[lost]


def _search(search: Search, cells: np.ndarray, adopt):
    """One batch's rounds, alternatives cheapest first, never through a headline figure."""
    batch = _Batch(search, cells)
    n = cells.size
    state = np.zeros_like(batch.count)
    banned = np.full((n, len(AXES), MAX_BANS), NONE, dtype=np.int64)
    bans = np.zeros(n, dtype=np.int64)
    pending, failed = np.arange(n), []
    for _ in range(MAX_ROUNDS):
        if pending.size == 0:
            break
        corners, signs, dims, pick_blame, picked = batch.patterns(pending, state, banned[pending])
        sigma, blame = _step(search.model, batch.moved, pending, corners, signs, dims)
        sigma = np.where(pick_blame != 0, 0, np.minimum(sigma, STEP - batch.done[pending]))
        blame = np.where(sigma == 0, blame | pick_blame, 0)
        costly = (signs != 0) & (search.cost[np.maximum(corners, 0)] >= LAST_RESORT_COST)
        blame |= np.bitwise_or.reduce(np.where(costly, dims, 0), axis=1)
        sigma = np.where(costly.any(axis=1), 0, sigma)
        batch.take(pending, corners, signs, sigma, adopt)
        blamed = np.stack([(blame >> axis) & 1 == 1 for axis in AXES], axis=1)
        stuck = _next_state(state, pending, sigma == 0, blamed, batch.count, banned, bans, picked)
        failed.append(pending[stuck])
        if TRACE is not None:
            TRACE.append((pending[stuck], state[pending][stuck], blame[stuck]))
        pending = pending[~stuck & (batch.done[pending] < STEP)]
    failed.append(pending)
    return batch.witnesses(np.concatenate(failed))


PLANE = [AXES.index(LIEU), AXES.index(THEME)]  # the rectangle's axes
FIBRE = [AXES.index(a) for a in (MEASURE, CATEGORY, Q)]  # what follows the rectangle


def _next_state(state, pending, failed, blamed, count, banned, bans, picked):
    """Move the owners whose step failed on: first the blamed axes of the fibre (measures,
    categories, quarters) to their next alternative; when those are exhausted, another rectangle
    (the partners tried banned, the fibre from its first alternatives); after MAX_BANS, the next
    alternative of the blamed axes of the rectangle. Returns the owners with nothing left."""
    rows = pending[failed]
    blamed = blamed[failed]
    current, last = state[rows], count[rows] - 1
    can = blamed & (current < last)
    fibre = can[:, FIBRE].any(axis=1)
    current[:, FIBRE] += np.where(fibre[:, None], can[:, FIBRE], 0)
    retry = ~fibre & (bans[rows] < MAX_BANS) & (picked[failed][:, PLANE] != NONE).any(axis=1)
    again = rows[retry]
    banned[again, PLANE[0], bans[again]] = picked[failed][retry, PLANE[0]]
    banned[again, PLANE[1], bans[again]] = picked[failed][retry, PLANE[1]]
    bans[again] += 1
    # The rectangle's axes one at a time, the theme's first (a commune's total before the
    # canton's cells); the place's next alternative starts the theme's again.
    theme, lieu = PLANE[1], PLANE[0]
    by_theme = ~fibre & ~retry & can[:, theme]
    by_place = ~fibre & ~retry & ~by_theme & can[:, lieu]
    current[:, theme] = np.where(by_theme, current[:, theme] + 1, current[:, theme])
    current[:, lieu] = np.where(by_place, current[:, lieu] + 1, current[:, lieu])
    current[:, theme] = np.where(by_place, 0, current[:, theme])
    plane = by_theme | by_place
    banned[rows[plane]] = NONE  # the next alternative's partners are new
    bans[rows[plane]] = 0
    reset = retry | plane
    current[:, FIBRE] = np.where(reset[:, None], 0, current[:, FIBRE])
    state[rows] = current
    stuck = np.zeros(pending.size, dtype=bool)
    stuck[np.flatnonzero(failed)] = ~(fibre | retry | plane)
    return stuck


def _step(model: Model, moved: Moved, pending, corners, signs, dims):
    """σ and blame of each pending owner's pattern on top of its earlier steps."""
    n, width = corners.shape
    local = np.repeat(np.arange(n), width)
    prior_rows, prior_cells, prior_delta = moved.of(pending)
    prior_local = np.searchsorted(pending, prior_rows)
    row = np.concatenate([local, prior_local])
    cell = np.concatenate([corners.reshape(-1), prior_cells])
    zeros = np.zeros(prior_cells.size, dtype=np.int64)
    prior = np.concatenate([np.zeros(local.size, dtype=np.int64), prior_delta])
    unit = np.concatenate([signs.reshape(-1), zeros])
    axes = np.concatenate([dims.reshape(-1), zeros])
    sigma, blame, _ = limits(model, row, cell, prior, unit, axes, n)
    return sigma, blame
