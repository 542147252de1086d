"""Finding witnesses (etl/disclosure/moves.py) for many cells at once.

A step's pattern is built the way the hypercube method of tau-ARGUS builds its moves: on each
axis (quarter, theme, place, category, measure) a short list of coordinates with signs balances
that axis's relations (the cell and a sibling going down, the cell and its total going up, a total
and one of its parts going up, or the cell alone where an inequality leaves room), and the pattern
is every combination of them (its corners), signs multiplied. The alternatives of each axis are
listed in ALTERNATIVES, cheapest first; an owner starts with the first that can hold and, when its
step cannot be taken at all, moves on in the axes to blame.

Where an alternative picks a coordinate (a sibling, a part), every candidate is scored with the
corners it adds: a corner that does not exist, cannot move, or has no room is ruled out; otherwise
the corners' costs add up (0 for a cell already withheld or not published at all) and, among equal
costs, the one leaving most room wins, so that the same few cells serve many owners and few steps
are needed. On the place axis, each corner's persons cell is counted too (`dragged_cost`): the
measure axis, built later, usually moves it; on every axis, a candidate whose rising part (women,
seniors…) lacks room in its link for a whole step costs PERSONS_DRAG_PRICE more (`drags_persons`).
`movable` says which cells a move may change: only withheld or unpublished ones for the auditor;
any cell of the model for the protection method, which then withholds the published cells of the
steps it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from etl.disclosure.cube import (
    CATEGORY,
    LIEU,
    MEASURE,
    PERIODS,
    PLACES,
    THEME,
    UNBOUNDED,
    YEAR_PERIOD,
    Q,
)
from etl.disclosure.moves import NONE, STEP, Model
from etl.disclosure.relations import (
    AT_LEAST,
    AT_MOST,
    CATEGORIES,
    EQUAL,
    QUARTERS,
    STOCK,
    membership,
)

MAX_ROUNDS = 60
AXES = (LIEU, THEME, MEASURE, CATEGORY, Q)  # the axes that move (columns of a state)
# The order in which a pattern is built, for a commune's cell… Its theme first: where its own
# commune's themes have no room, its total moves, and the partner, picked next, is then priced
# with its own total (a large commune's total costs more: method.cell_costs).
COMMUNE_ORDER = (THEME, LIEU, MEASURE, CATEGORY, Q)
CANTON_ORDER = (CATEGORY, LIEU, THEME, MEASURE, Q)  # …and for the canton's
INFEASIBLE = np.inf
# What a candidate that drags the persons along costs more (in cells): two persons cells at least,
# the part's own and its partner's. Without it, a small commune's quarter whose only themes with
# room hold a person or two took its persons — and the partner's, often the city of Geneva's —
# into every step (docs/DONNEES.md « Utilité »).
PERSONS_DRAG_PRICE = 2.0
UNUSED = NONE - 1  # a slot not used by this owner


@dataclass(frozen=True)
class Slot:
    """One coordinate of an axis's alternative: `fixed` (a coordinate) or `pool` (a name in
    `Search.pools`, the best one picked). `needed`: used only where the relations of that family
    (a kind of relations.py, or the number of a measure link) leave no room for the corners
    already built: a part that follows its total only where the total cannot move alone."""

    sign: int
    fixed: int | None = None
    pool: str | None = None
    needed: str | int | None = None
    where: str | None = None  # CANTON_LEVEL or ALL_MEMBERS: the corners it applies to


def _pick(pool, sign, needed=None, where=None):
    return Slot(sign, pool=pool, needed=needed, where=where)


def _at(coordinate, sign, needed=None, where=None):
    return Slot(sign, fixed=coordinate, needed=needed, where=where)


CANTON_LEVEL, ALL_MEMBERS = "canton", "all members"


GE, STAR = 1, 0
# Per axis and class of the owner's coordinate: the alternatives (each a list of slots besides the
# owner's own coordinate), cheapest first. [] moves the cell alone on that axis.
ALTERNATIVES = {
    Q: {
        "year_flow": [[_pick("quarters", 1, QUARTERS)], [_pick("quarters", 1)]],
        "year_stock": [[_at(4, 1, STOCK)], [_at(4, 1)]],
        "quarter_flow": [[], [_pick("quarters", -1)], [_at(YEAR_PERIOD, 1)]],
        "q4_stock": [[], [_at(YEAR_PERIOD, 1)]],
        "free": [[]],
    },
    THEME: {
        "member": [[_pick("themes", -1)], [_at(STAR, 1)]],
        "total": [[_pick("themes", 1)]],
    },
    LIEU: {
        "commune": [
            [_pick("communes", -1)],
            [_at(GE, 1), _pick("outside", -1)],
            [_at(GE, 1), _at(STAR, 1)],
        ],
        # GE is the communes' total for all members only (a commune has no categories).
        "ge": [
            [_pick("outside", -1), _pick("communes", 1, where=ALL_MEMBERS)],
            [_at(STAR, 1), _pick("communes", 1, where=ALL_MEMBERS)],
        ],
        "outside": [
            [_pick("outside", -1)],
            [_at(GE, -1), _pick("communes", -1, where=ALL_MEMBERS)],
            [_at(STAR, 1)],
        ],
        "star": [[_pick("outside", 1)], [_at(GE, 1), _pick("communes", 1, where=ALL_MEMBERS)]],
    },  # fmt: skip
    CATEGORY: {  # a commune has no categories: only corners of the canton's level move
        "total": [
            [_pick("categories", 1, CATEGORIES, CANTON_LEVEL)],
            [_pick("categories", 1, where=CANTON_LEVEL)],
        ],
        "member": [
            [],
            [_pick("categories", -1, where=CANTON_LEVEL)],
            [_at(STAR, 1, where=CANTON_LEVEL)],
        ],
    },  # fmt: skip
}


def _measure_alternatives(model: Model) -> dict:
    """The measure axis's classes: persons, a part with a sibling (women/men, minors/seniors), a
    part alone (new persons), the others (no relation)."""
    axes, groups = model.cube.axes, model.groups
    links = [n for n, g in enumerate(groups) if g.family.axis == MEASURE]

    def parts(when_needed: bool, skip: int | None = None) -> list[Slot]:
        return [_pick(f"link{n}", 1, n if when_needed else None) for n in links if n != skip]

    classes = {"free": [[]], "persons": [parts(True), parts(False)]}
    for n in links:
        members = np.flatnonzero(groups[n].family.members)
        persons = _at(groups[n].family.total, 1)
        for m in members:
            siblings = [s for s in members if s != m]
            sibling = [[_at(int(siblings[0]), -1)]] if siblings else []
            classes[axes.measures[m]] = [
                [],
                *sibling,
                [persons, *parts(True, skip=n)],
                [persons, *parts(False, skip=n)],
            ]
    return classes


def _strength(model: Model) -> np.ndarray:
    """Per cell, how much room its fibre has: its value in its best quarter (a year cell) or its
    own value (a quarter), and no more than the same for the persons it is part of. A partner cell
    that is strong can usually take a step in some quarter and on the measures tied to it, which
    a witness through it needs."""
    cube = model.cube
    value = cube.value.reshape(cube.axes.shape)
    best_quarter = value[:, 1:].max(axis=1, keepdims=True)
    room = np.concatenate([np.minimum(value[:, :1], best_quarter), value[:, 1:]], axis=1)
    for groups in model.groups:
        family = groups.family
        if family.axis == MEASURE:
            parts = np.flatnonzero(family.members)
            room[..., parts] = np.minimum(
                room[..., parts], room[..., family.total : family.total + 1]
            )
    return room.reshape(-1)


def _family_totals(model: Model) -> np.ndarray:
    """Per measure, the measure its relations sum it into (persons for women, seniors…); -1 for
    one that is no part."""
    total = np.full(model.cube.axes.shape[MEASURE], -1, dtype=np.int64)
    for groups in model.groups:
        if groups.family.axis == MEASURE:
            total[np.flatnonzero(groups.family.members)] = groups.family.total
    return total


def _link_room(model: Model) -> np.ndarray:
    """Per cell of a part (women, seniors…): how far it can go up before its persons must follow
    (persons − the parts of its link, 0 where the attacker knows them equal); unbounded for the
    other cells."""
    cube = model.cube
    room = np.full(cube.size, UNBOUNDED, dtype=np.int64)
    measure = np.arange(cube.size) % cube.axes.shape[MEASURE]
    for groups in model.groups:
        if groups.family.axis != MEASURE:
            continue
        cells = np.flatnonzero(cube.model & groups.family.members[measure])
        group, _ = membership(cube, groups, cells)
        cells, group = cells[group >= 0], group[group >= 0]
        free = np.where(groups.sense[group] == AT_MOST, -groups.balance[group], 0)
        room[cells] = np.minimum(room[cells], free)
    return room


def _year_slack(model: Model) -> np.ndarray:
    """Per year cell, what members reporting by year add beyond its quarters (the room of its
    quarters → year relation; 0 where it is an equality); unbounded elsewhere."""
    slack = np.full(model.cube.size, UNBOUNDED, dtype=np.int64)
    for groups in model.groups:
        if groups.family.kind in (QUARTERS, STOCK):
            room = np.where(groups.sense == EQUAL, 0, -groups.balance)
            slack[groups.keys] = room
    return slack


@dataclass
class Search:
    model: Model
    cost: np.ndarray  # per cell: the price of moving it (0 when withheld or unpublished)
    pools: dict = field(init=False)

    def __post_init__(self):
        axes = self.model.cube.axes
        shape = axes.shape
        n_lieux = shape[LIEU]
        self.pools = {
            "quarters": (Q, np.arange(shape[Q]) != YEAR_PERIOD),
            "themes": (THEME, np.arange(shape[THEME]) != STAR),
            "communes": (LIEU, np.arange(n_lieux) >= len(PLACES)),
            "outside": (LIEU, np.isin(np.arange(n_lieux), [2, 3])),
            "categories": (CATEGORY, np.arange(shape[CATEGORY]) != STAR),
        }
        for n, groups in enumerate(self.model.groups):
            if groups.family.axis == MEASURE:
                self.pools[f"link{n}"] = (MEASURE, groups.family.members)
        self.alternatives = {**ALTERNATIVES, MEASURE: _measure_alternatives(self.model)}
        self.stocks = np.isin(np.array(axes.measures), ["liste_attente"])
        self.measure_class = np.array(
            [m if m in self.alternatives[MEASURE] else "free" for m in axes.measures], dtype=object
        )
        if "personnes" in axes.measures:
            self.measure_class[axes.measure("personnes")] = "persons"
        self.family_total = _family_totals(self.model)
        self.strength = _strength(self.model)
        self.year_slack = _year_slack(self.model)
        self.link_room = _link_room(self.model)

    # --- the class of each owner's coordinate on each axis ----------------------------------------

    def classes(self, coords: np.ndarray) -> dict[int, np.ndarray]:
        q, theme, lieu = coords[:, Q], coords[:, THEME], coords[:, LIEU]
        category, measure = coords[:, CATEGORY], coords[:, MEASURE]
        stock = self.stocks[measure]
        all_members = category == STAR
        quarter = np.select(
            [(q == YEAR_PERIOD) & ~stock, q == YEAR_PERIOD, ~stock, q == 4],
            ["year_flow", "year_stock", "quarter_flow", "q4_stock"],
            "free",
        )
        place = np.select(
            [lieu >= len(PLACES), lieu == GE, lieu == STAR], ["commune", "ge", "star"], "outside"
        )
        return {
            Q: quarter,
            THEME: np.where(theme == STAR, "total", "member"),
            LIEU: place,
            # A commune's cell is all members; its corners at the canton's level have categories.
            CATEGORY: np.where(all_members, "total", "member"),
            MEASURE: self.measure_class[measure],
        }

    # --- picking a coordinate ---------------------------------------------------------------------

    def pick(self, base, base_sign, owner_rows, prior, slot, axis, used, own):
        """For each owner, the best coordinate of `slot.pool` on `axis` given the corners built so
        far (`base`, (n, C) cells with the owner's own coordinate on `axis`) and their signs; NONE
        where no candidate can move. `used`: (n, k) coordinates already taken on this axis; `own`:
        the owners' coordinates on it."""
        cube = self.model.cube
        pool_axis, pool = self.pools[slot.pool]
        candidates = np.flatnonzero(pool)
        stride = cube.strides[axis]
        own = own[:, None]
        shift = (candidates[None, :] - own) * stride  # (n, P)
        cells = base[:, None, :] + shift[:, :, None]  # (n, P, C)
        valid = base[:, None, :] >= 0
        safe = np.where(valid, cells, 0)
        sign = slot.sign * base_sign[:, None, :]
        moved = prior(owner_rows[:, None, None], safe)
        current = cube.value[safe] + moved
        room = np.where(sign < 0, current - cube.lower[safe], cube.upper[safe] - current)
        ok = (~valid) | (cube.model[safe] & self.model.movable[safe] & (room >= 1))
        score = np.where(valid, self.cost[safe], 0.0).sum(axis=2)
        if axis == LIEU:
            score = score + self.dragged_cost(safe, valid)
        score = score + np.where(self.drags_persons(safe, sign, valid), PERSONS_DRAG_PRICE, 0.0)
        # Among equal costs, the candidate whose tightest moving-down corner has most room: it
        # can serve many owners and its quarters and parts have room too.
        down = valid & (sign < 0)
        tight = np.where(down, np.minimum(room, self.strength[safe]), UNBOUNDED).min(axis=2)
        feasible = ok.all(axis=2)
        if axis in (LIEU, THEME):  # a year's corners must agree on a quarter (or need none)
            new_need, new_can = self._quarters(safe, sign, valid)
            old_need, old_can = self._quarters(base, base_sign, base >= 0)
            need = new_need.any(axis=2) | old_need.any(axis=1)[:, None]
            can = new_can.all(axis=2) & old_can.all(axis=1)[:, None, :]
            feasible &= ~need | can.any(axis=2)
        score = np.where(feasible, score - np.log1p(np.maximum(tight, 0)), INFEASIBLE)
        taken = (candidates[None, :, None] == used[:, None, :]).any(axis=2)
        score = np.where(taken | (candidates[None, :] == own), INFEASIBLE, score)
        best = np.argmin(score, axis=1)
        found = np.isfinite(score[np.arange(best.size), best])
        return np.where(found, candidates[best], NONE)

    def dragged_cost(self, cells: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Per candidate (summed over the last axis of `cells`): what the persons cells of its
        corners cost. A part (women, seniors…) that moves usually takes its persons along on the
        measure axis, built after the place: counted when the place is chosen, a partner whose
        part is already withheld but whose persons are not no longer looks free (it made the city
        of Geneva everyone's partner, docs/DONNEES.md « Utilité »)."""
        cube = self.model.cube
        stride = cube.strides[MEASURE]
        measure = (cells // stride) % cube.axes.shape[MEASURE]
        total = self.family_total[measure]
        persons = np.where(total >= 0, cells + (total - measure) * stride, 0)
        return np.where(valid & (total >= 0), self.cost[persons], 0.0).sum(axis=-1)

    def drags_persons(self, cells: np.ndarray, sign: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Per candidate: whether a part (women, seniors…) of its corners goes up where its link
        has less room than a whole step, so that the measure axis, built later, must move the
        persons too — at every corner, the partner commune's persons total included."""
        rising = valid & (sign > 0)
        return (rising & (self.link_room[cells] < STEP)).any(axis=-1)

    def _quarters(self, cells, sign, valid):
        """For the year's corners: (whether each needs its quarters to follow: it moves down and
        what members reporting by year sent leaves no room; (…, 4) whether each can follow a step
        in quarter q: room to move down, or a quarter that exists to move up). A step's quarters
        form a rectangle too (the quarters of a commune and of a theme are published): once one
        corner needs them, every corner follows in the same quarter."""
        cube = self.model.cube
        stride = cube.strides[Q]
        cells = np.where(valid, cells, 0)
        year = valid & ((cells // stride) % PERIODS == YEAR_PERIOD)
        stock = self.stocks[cells % cube.axes.shape[MEASURE]]
        need = year & (sign < 0) & (self.year_slack[cells] < 1)
        can = np.ones((*cells.shape, PERIODS - 1), dtype=bool)
        for q in range(1, PERIODS):
            quarter = np.where(year, cells + q * stride, 0)
            usable = cube.model[quarter] & self.model.movable[quarter] & ~(stock & (q != 4))
            room = cube.value[quarter] - cube.lower[quarter] >= 1
            can[..., q - 1] = ~year | np.where(sign < 0, usable & room, usable)
        return need, can

    # --- a step's pattern -------------------------------------------------------------------------

    def _coordinate(self, slot: Slot, who, cells, base, base_sign, rows, prior, axis, used):
        """The coordinate of one slot for owners `who`: fixed, picked, NONE (nothing can move) or
        UNUSED (a part that need not follow)."""
        coordinate = np.full(who.size, UNUSED, dtype=np.int64)
        active = np.ones(who.size, dtype=bool)
        if slot.needed is not None:
            active = self.needed(slot.needed, base, base_sign)
        if slot.fixed is not None:
            coordinate[active] = slot.fixed
        elif active.any():
            a = np.flatnonzero(active)
            own = (cells[who][a] // self.model.cube.strides[axis]) % self.model.cube.axes.shape[
                axis
            ]
            coordinate[a] = self.pick(
                base[a], base_sign[a], rows[who][a], prior, slot, axis, used[a], own
            )
        return coordinate

    def needed(self, family, base, base_sign) -> np.ndarray:
        """Per owner: whether some corner built so far moves against a relation of `family` (a
        kind or a family number) that leaves it no room, so that a part must follow."""
        cube = self.model.cube
        numbers = (
            [family]
            if isinstance(family, int | np.integer)
            else [n for n, g in enumerate(self.model.groups) if g.family.kind == family]
        )
        need = np.zeros(base.shape[0], dtype=bool)
        for number in numbers:
            groups = self.model.groups[number]
            valid = base >= 0
            group, role = membership(cube, groups, np.where(valid, base, 0))
            found = valid & (group >= 0)
            g = np.maximum(group, 0)
            sense, balance = groups.sense[g], groups.balance[g]
            change = role * base_sign
            room = np.where(sense == AT_MOST, -balance, np.where(sense == AT_LEAST, balance, 0))
            against = np.where(sense == AT_LEAST, change < 0, change > 0) | (
                (sense == EQUAL) & (change != 0)
            )
            need |= (found & against & (room < 1)).any(axis=1)
        return need

    def patterns(self, cells, state, classes, prior, rows, banned):
        """Each owner's pattern with the alternatives of `state`, never picking a coordinate of
        `banned` ((n, len(AXES), k), NONE-padded): (corners (n, C), signs, axes moved per corner,
        blame of owners whose pick found nothing, the coordinate picked first on each axis).

        A commune's cell has no categories and a category's cell no communes: the axes are built
        in the order where each axis's slots see the corners they must follow (COMMUNE_ORDER for
        a commune's cell, whose canton-level corners then get their categories; CANTON_ORDER for
        the canton's, whose corners for all members then get their communes)."""
        cube = self.model.cube
        n = cells.size
        commune = (cells // cube.strides[LIEU]) % cube.axes.shape[LIEU] >= len(PLACES)
        parts = []
        for order, who in ((COMMUNE_ORDER, np.flatnonzero(commune)),
                           (CANTON_ORDER, np.flatnonzero(~commune))):  # fmt: skip
            if who.size:
                chosen = {a: c[who] for a, c in classes.items()}
                built = self._build(order, cells[who], state[who], chosen, prior, rows[who],
                                    banned[who])  # fmt: skip
                parts.append((who, built))
        width = max(b[0].shape[1] for _, b in parts)
        corners = np.full((n, width), NONE, dtype=np.int64)
        signs = np.zeros((n, width), dtype=np.int64)
        moved = np.zeros((n, width), dtype=np.int64)
        blame = np.zeros(n, dtype=np.int64)
        picked = np.full((n, len(AXES)), NONE, dtype=np.int64)
        for who, (c, sg, mv, bl, pk) in parts:
            corners[who, : c.shape[1]], signs[who, : c.shape[1]] = c, sg
            moved[who, : c.shape[1]], blame[who], picked[who] = mv, bl, pk
        return corners, signs, moved, blame, picked

    def _build(self, order, cells, state, classes, prior, rows, banned):
        cube = self.model.cube
        n = cells.size
        corners = cells[:, None].copy()
        signs = np.ones((n, 1), dtype=np.int64)
        moved = np.zeros((n, 1), dtype=np.int64)
        blame = np.zeros(n, dtype=np.int64)
        picked = np.full((n, len(AXES)), NONE, dtype=np.int64)
        for axis in order:
            i = AXES.index(axis)
            stride, bit = cube.strides[axis], np.int64(1) << axis
            own = (cells // stride) % cube.axes.shape[axis]
            blocks = []
            keys = np.char.add(classes[axis].astype(str), np.char.mod("|%d", state[:, i]))
            for key in np.unique(keys):
                who = np.flatnonzero(keys == key)
                name, number = key.split("|")
                used = np.concatenate([own[who][:, None], banned[who, i]], axis=1)
                parts = []
                for slot in self.alternatives[axis][name][int(number)]:
                    base, base_sign = self._where(slot, corners[who], signs[who])
                    coordinate = self._coordinate(
                        slot, who, cells, base, base_sign, rows, prior, axis, used
                    )
                    blame[who[coordinate == NONE]] |= bit
                    if slot.pool is not None:
                        first = picked[who, i] == NONE
                        picked[who[first], i] = coordinate[first]
                    used = np.concatenate([used, coordinate[:, None]], axis=1)
                    live = (base >= 0) & (coordinate[:, None] >= 0)
                    shifted = np.where(live, base + (coordinate - own[who])[:, None] * stride, NONE)
                    sign = np.where(live, base_sign * slot.sign, 0)
                    parts.append((shifted, sign, moved[who] | bit))
                if parts:
                    blocks.append(
                        (who, *(np.concatenate(p, axis=1) for p in zip(*parts, strict=True)))
                    )
            width = max((b[1].shape[1] for b in blocks), default=0)
            extra = np.full((n, width), NONE, dtype=np.int64)
            extra_signs = np.zeros((n, width), dtype=np.int64)
            extra_moved = np.zeros((n, width), dtype=np.int64)
            for who, block, block_signs, block_moved in blocks:
                extra[who, : block.shape[1]] = block
                extra_signs[who, : block.shape[1]] = block_signs
                extra_moved[who, : block.shape[1]] = block_moved
            corners = np.concatenate([corners, extra], axis=1)
            signs = np.concatenate([signs, extra_signs], axis=1)
            moved = np.concatenate([moved, extra_moved], axis=1)
        return corners, signs, moved, blame, picked

    def _where(self, slot: Slot, base, base_sign):
        """The corners a slot applies to: all, or only those of the canton's level (categories),
        or only those for all members (communes)."""
        if slot.where is None:
            return base, base_sign
        cube = self.model.cube
        if slot.where == CANTON_LEVEL:
            keep = (base // cube.strides[LIEU]) % cube.axes.shape[LIEU] < len(PLACES)
        else:
            keep = (base // cube.strides[CATEGORY]) % cube.axes.shape[CATEGORY] == STAR
        keep &= base >= 0
        return np.where(keep, base, NONE), np.where(keep, base_sign, 0)
