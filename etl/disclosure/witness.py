"""Witnesses: a concrete way the attacker could be wrong about a withheld cell, checked exactly.

A witness for cell c is a move: add ±4 to a set of withheld cells (c gets +4) such that every
published number stays the same, every relation still holds, no cell leaves its bounds (never
negative, zero or positive where that is known). Then c, its true value v and every value between,
v + 1 … v + 4, are all consistent with what is published (the moves in between are convex
combinations of two whole points): the attacker's interval holds five whole values, one of them
≥ 5, which is the requirement (DESIGN §6). A verified witness is a proof; `verify` checks one
against every relation, whoever built it.

Moves are built as tensor products, the way the hypercube method of tau-ARGUS does: in each key
(quarter, theme, place, category, measure) a short signed list of coordinates that balances that
key's relations (the cell and a sibling going down, the cell and its total going up, a total and one
of its parts going up, or the cell alone where an inequality has room), and the move is every
combination (its corners), with the product of signs. Cells going down must hold at least 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.disclosure.relations import CELL_KEYS
from etl.disclosure.table import NONE, Table

STEP = 4  # the move: five whole values v … v + 4
UNUSED = -2
DIMS = (1, 2, 3, 4, 5)  # quarter, theme, lieu, category, measure (the year never moves)
QUARTER, THEME, LIEU, CATEGORY, MEASURE = DIMS
MAX_ROUNDS = 12


@dataclass
class Witnesses:
    """Moves found: `owner` (the protected cell) per entry, `cell`, `sign` (±1)."""

    owner: np.ndarray
    cell: np.ndarray
    sign: np.ndarray

    @staticmethod
    def empty() -> Witnesses:
        z = np.zeros(0, dtype=np.int64)
        return Witnesses(z, z, z.astype(np.int8))

    def of(self, owners: np.ndarray) -> Witnesses:
        keep = np.isin(self.owner, owners)
        return Witnesses(self.owner[keep], self.cell[keep], self.sign[keep])

    def __add__(self, other: Witnesses) -> Witnesses:
        return Witnesses(
            np.concatenate([self.owner, other.owner]),
            np.concatenate([self.cell, other.cell]),
            np.concatenate([self.sign, other.sign]),
        )


def verify(table: Table, witnesses: Witnesses, hidden: np.ndarray) -> np.ndarray:
    """The owners whose witness holds: every cell of the move withheld and reported, within its
    bounds after the move, and every relation touched still true."""
    owner, cell, sign = witnesses.owner, witnesses.cell, witnesses.sign.astype(np.int64)
    if owner.size == 0:
        return owner
    moved = table.value[cell] + STEP * sign
    bad_cell = (
        ~hidden[cell]
        | ~table.reported[cell]
        | (moved < table.lower[cell])
        | (moved > table.upper[cell])
    )
    bad = set(owner[bad_cell].tolist())
    owners, owner_number = np.unique(owner, return_inverse=True)
    rel = table.relations
    for m in range(len(table.margins)):
        group, role = table.group_of[m, cell], table.role_of[m, cell].astype(np.int64)
        touched = group >= 0
        if not touched.any():
            continue
        key = owner_number[touched] * np.int64(rel.n_groups) + group[touched]
        keys, where = np.unique(key, return_inverse=True)
        delta = np.bincount(where, weights=role[touched] * sign[touched])
        g = keys % rel.n_groups
        after = table.balance[g] + STEP * delta
        sense = rel.sense[g]
        ok = np.where(sense == 0, delta == 0, np.where(sense < 0, after <= 0, after >= 0))
        bad |= set(owners[keys[~ok] // rel.n_groups].tolist())
    return np.setdiff1d(owners, np.fromiter(bad, dtype=np.int64, count=len(bad)))


def _dim_of_margin(table: Table) -> np.ndarray:
    return np.array([CELL_KEYS.index(m.column) for m in table.margins], dtype=np.int64)


def failures(
    table: Table,
    owner: np.ndarray,
    cell: np.ndarray,
    sign: np.ndarray,
    moved_dims: np.ndarray,
    allowed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(owners, bitmask of the keys to blame) for the moves that fail: a cell that does not exist
    (NONE), is not allowed (published, for the auditor), is not reported or leaves its bounds blames
    the keys in which it differs from its owner (`moved_dims`, a bitmask per entry); a relation
    broken blames its key."""
    owners, number = np.unique(owner, return_inverse=True)
    blame = np.zeros(owners.size, dtype=np.int64)
    exists = cell >= 0
    safe_cell = np.where(exists, cell, 0)
    moved = table.value[safe_cell] + STEP * sign
    bad_cell = ~exists | ~allowed[safe_cell] | ~table.reported[safe_cell]
    bad_cell |= (moved < table.lower[safe_cell]) | (moved > table.upper[safe_cell])
    np.bitwise_or.at(blame, number[bad_cell], moved_dims[bad_cell])
    rel = table.relations
    dims = _dim_of_margin(table)
    for m in range(len(table.margins)):
        group = np.where(exists, table.group_of[m, safe_cell], NONE)
        touched = group >= 0
        if not touched.any():
            continue
        role = table.role_of[m, safe_cell[touched]].astype(np.int64)
        key = number[touched] * np.int64(rel.n_groups) + group[touched]
        keys, where = np.unique(key, return_inverse=True)
        delta = np.bincount(where, weights=role * sign[touched])
        g = keys % rel.n_groups
        after = table.balance[g] + STEP * delta
        sense = rel.sense[g]
        ok = np.where(sense == 0, np.abs(delta) < 0.5, np.where(sense < 0, after <= 0, after >= 0))
        np.bitwise_or.at(blame, keys[~ok] // rel.n_groups, np.int64(1) << dims[m])
    return owners, blame
