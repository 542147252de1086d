"""Moves: changes of several cells at once that keep every published figure and every relation.

A witness for a withheld count c is a move that adds 4 to c, changes only withheld or unpublished
cells, keeps every relation true and every cell within what the attacker knows of it (never
negative; zero or positive where another figure says so). Then c's true value v and v + 4 are both
consistent with what is published, and so is every value between (the moves in between are convex
combinations of two whole points): the attacker's interval holds five whole values, one of them
≥ 5, which is the requirement (DESIGN §6). A move that holds is a proof, whoever built it.

A witness is built in steps (etl/disclosure/search.py): each step is a pattern of +1 / −1 on some
cells, taken σ times, σ as large as every cell and relation allows; the steps add up to +4 on c.
`limits` tells, for many owners at once, how many times each one's pattern can be taken on top of
what its earlier steps moved, and which keys to blame when it cannot be taken at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.disclosure.cube import MEASURE, Cube
from etl.disclosure.relations import AT_LEAST, AT_MOST, Groups, build_groups, membership

STEP = 4  # the move: five whole values v … v + 4
NONE = -1  # no such cell


@dataclass
class Model:
    """The cube with its relations, and which cells a move may change."""

    cube: Cube
    groups: list[Groups]
    movable: np.ndarray  # per cell

    @staticmethod
    def of(cube: Cube, movable: np.ndarray, groups: list[Groups] | None = None) -> Model:
        return Model(cube, groups if groups is not None else build_groups(cube), movable)


@dataclass
class Witnesses:
    """Moves found: per entry the owner (the protected cell), a cell and its change."""

    owner: np.ndarray
    cell: np.ndarray
    delta: np.ndarray

    @staticmethod
    def empty() -> Witnesses:
        z = np.zeros(0, dtype=np.int64)
        return Witnesses(z, z, z)

    def of(self, owners: np.ndarray) -> Witnesses:
        keep = np.isin(self.owner, owners)
        return Witnesses(self.owner[keep], self.cell[keep], self.delta[keep])

    def __add__(self, other: Witnesses) -> Witnesses:
        return Witnesses(
            np.concatenate([self.owner, other.owner]),
            np.concatenate([self.cell, other.cell]),
            np.concatenate([self.delta, other.delta]),
        )


def _segments(key: np.ndarray, *columns: np.ndarray):
    """Sum each column over equal keys: (unique keys, summed columns…, index of each key's first
    entry in the sorted order, the sort order)."""
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.diff(key, prepend=key[:1] - 1) != 0) if key.size else key
    sums = [np.add.reduceat(c[order], starts) if key.size else c[:0] for c in columns]
    return key[starts], sums, starts, order


# Longer than 60 lines: one vectorised pass over the cells then the relations, sharing the same
# per-move arrays; split, each half would need them all as arguments.
def limits(
    model: Model,
    row: np.ndarray,
    cell: np.ndarray,
    prior: np.ndarray,
    unit: np.ndarray,
    moved: np.ndarray,
    n_rows: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For moves given as entries (row = owner number 0…n_rows-1, cell, prior change, unit change,
    bitmask of the axes in which the cell differs from its owner):

    - σ per row: how many times the unit pattern can be added to the prior one (capped at STEP);
    - blame per row: bitmask of the axes to blame where σ is 0;
    - ok per row: whether the prior move alone holds (every cell and relation).
    A cell NONE (no such cell) in a unit pattern gives σ = 0.
    """
    cube = model.cube
    sigma = np.full(n_rows, STEP, dtype=np.int64)
    blame = np.zeros(n_rows, dtype=np.int64)
    ok = np.ones(n_rows, dtype=bool)
    missing = cell == NONE
    np.minimum.at(sigma, row[missing & (unit != 0)], 0)
    np.bitwise_or.at(blame, row[missing & (unit != 0)], moved[missing & (unit != 0)])
    row, cell, prior, unit, moved = (a[~missing] for a in (row, cell, prior, unit, moved))
    # Each cell once per row: its total prior and unit change.
    key = row * np.int64(cube.size) + cell
    key, (p, u), starts, order = _segments(key, prior, unit)
    dims = np.bitwise_or.reduceat(moved[order], starts) if key.size else moved[:0]
    r, c = key // cube.size, key % cube.size
    current = cube.value[c] + p
    fixed = ~model.movable[c]
    ok_cell = ((p == 0) | ~fixed) & (current >= cube.lower[c]) & (current <= cube.upper[c])
    np.logical_and.at(ok, r, ok_cell)
    with np.errstate(divide="ignore"):
        room = np.where(
            u < 0,
            (current - cube.lower[c]) // np.maximum(-u, 1),
            np.where(u > 0, (cube.upper[c] - current) // np.maximum(u, 1), STEP),
        )
    room = np.where(fixed & (u != 0), 0, room)
    np.minimum.at(sigma, r, room)
    _blame(blame, r, room, dims)
    for family_groups in model.groups:
        group, role = membership(cube, family_groups, c)
        inside = group >= 0
        if not inside.any():
            continue
        n_groups = np.int64(family_groups.keys.size)
        gkey, (gp, gu), _, _ = _segments(
            r[inside] * n_groups + group[inside], role[inside] * p[inside], role[inside] * u[inside]
        )
        g, rr = gkey % n_groups, gkey // n_groups
        balance, sense = family_groups.balance[g] + gp, family_groups.sense[g]
        holds = np.where(
            sense == AT_MOST, balance <= 0, np.where(sense == AT_LEAST, balance >= 0, balance == 0)
        )
        np.logical_and.at(ok, rr, holds)
        with np.errstate(divide="ignore"):
            room = np.where(
                gu == 0,
                STEP,
                np.where(
                    sense == AT_MOST,
                    np.where(gu > 0, -balance // np.maximum(gu, 1), STEP),
                    np.where(sense == AT_LEAST, np.where(gu < 0, balance // np.maximum(-gu, 1), STEP), 0),
                ),
            )  # fmt: skip
        np.minimum.at(sigma, rr, room)
        _blame(blame, rr, room, np.int64(1) << family_groups.family.axis)
    return np.maximum(sigma, 0), np.where(sigma <= 0, blame, 0), ok


def _blame(blame: np.ndarray, rows: np.ndarray, room: np.ndarray, dims) -> None:
    stuck = room <= 0
    np.bitwise_or.at(blame, rows[stuck], np.broadcast_to(dims, rows.shape)[stuck])


def verify(model: Model, witnesses: Witnesses, hidden: np.ndarray) -> np.ndarray:
    """The owners whose witness holds: it adds at least 4 to its owner, changes only withheld or
    unpublished cells, and every cell and relation it touches stays true."""
    if witnesses.owner.size == 0:
        return witnesses.owner
    owners, row = np.unique(witnesses.owner, return_inverse=True)
    checking = Model(model.cube, model.groups, hidden | model.cube.unpublished())
    zero = np.zeros_like(witnesses.delta)
    _, _, ok = limits(checking, row, witnesses.cell, witnesses.delta, zero, zero, owners.size)
    own = witnesses.cell == witnesses.owner
    raised = np.zeros(owners.size, dtype=np.int64)
    np.add.at(raised, row[own], witnesses.delta[own])
    return owners[ok & (raised >= STEP)]


MEASURE_BIT = np.int64(1) << MEASURE
