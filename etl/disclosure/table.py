"""The cells of the protected tables as integer arrays: coordinates, values, bounds, relations.

Built once per publish from `cube_cells` and `build_relations`; the auditor and the protection method
both read it. A cell's coordinates are codes per key (year, quarter, theme, lieu, category, measure);
`find` turns coordinates back into a cell number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.disclosure.relations import (
    CELL_KEYS,
    CUBE_MARGINS,
    SMALLEST_PUBLISHED_COUNT,
    Margin,
    Relations,
    build_relations,
)

NONE = -1  # no such cell / coordinate


@dataclass
class Table:
    codes: np.ndarray  # (n_cells, 6) coordinate codes, columns in CELL_KEYS order
    labels: dict[str, list]  # the label of each code, per key
    value: np.ndarray  # true counts, missing as 0
    lower: np.ndarray  # what the attacker knows of each cell besides relations: 0 or 1…
    upper: np.ndarray  # …and +inf or 0
    reported: np.ndarray  # false where the count is missing (not reported: never a variable)
    relations: Relations
    margins: tuple[Margin, ...]
    group_of: np.ndarray  # (n_margins, n_cells): the cell's group in each margin, or NONE
    role_of: np.ndarray  # (n_margins, n_cells): +1 member, -1 total, 0 not in the margin
    balance: np.ndarray  # per group: Σ members − total, true values
    _keys: np.ndarray  # sorted coordinate keys…
    _order: np.ndarray  # …and the cell of each
    _radix: np.ndarray

    @property
    def n(self) -> int:
        return self.value.size

    def code(self, key: str, label) -> int:
        """The code of a label of `key` (NONE when absent from the table)."""
        labels = self.labels[key]
        return labels.index(label) if label in labels else NONE

    def key_of(self, coords: np.ndarray) -> np.ndarray:
        return coords.astype(np.int64) @ self._radix

    def find(self, coords: np.ndarray) -> np.ndarray:
        """Cell numbers of coordinate rows (…, 6), NONE where no such cell exists."""
        invalid = (coords < 0).any(axis=-1)
        keys = self.key_of(np.where(coords < 0, 0, coords))
        at = np.searchsorted(self._keys, keys)
        at = np.minimum(at, self._keys.size - 1)
        found = (self._keys[at] == keys) & ~invalid if self._keys.size else np.zeros_like(invalid)
        return np.where(found, self._order[at] if self._keys.size else NONE, NONE)


def _codes(cells: pl.DataFrame) -> tuple[np.ndarray, dict[str, list]]:
    columns, labels = [], {}
    for key in CELL_KEYS:
        column = cells[key]
        values = column.unique().sort().to_list()
        labels[key] = values
        if column.dtype == pl.String:
            codes = column.cast(pl.Enum(values)).to_physical().cast(pl.Int64).to_numpy()
        else:
            codes = (column.rank("dense").cast(pl.Int64) - 1).to_numpy()
        columns.append(codes)
    if not cells.height:
        return np.zeros((0, len(CELL_KEYS)), dtype=np.int64), labels
    return np.stack(columns, axis=1), labels


def build_table(cells: pl.DataFrame, margins: tuple[Margin, ...] = CUBE_MARGINS) -> Table:
    """The Table of a frame from `cube_cells`."""
    codes, labels = _codes(cells)
    sizes = np.array([max(len(labels[k]), 1) for k in CELL_KEYS], dtype=np.int64)
    radix = np.ones(len(CELL_KEYS), dtype=np.int64)
    for i in range(len(CELL_KEYS) - 2, -1, -1):
        radix[i] = radix[i + 1] * sizes[i + 1]
    keys = codes @ radix
    order = np.argsort(keys, kind="stable")
    value = cells["value"].fill_null(0).to_numpy().astype(np.int64)
    known = cells["known_positive"].cast(pl.Int8).fill_null(-1).to_numpy()
    lower = np.where(known == 1, 1.0, 0.0)
    upper = np.where(known == 0, 0.0, np.inf)
    relations = build_relations(cells, margins)
    group_of = np.full((len(margins), cells.height), NONE, dtype=np.int64)
    role_of = np.zeros((len(margins), cells.height), dtype=np.int8)
    margin_of_entry = relations.margin[relations.group]
    group_of[margin_of_entry, relations.cell] = relations.group
    role_of[margin_of_entry, relations.cell] = relations.coef
    balance = np.bincount(
        relations.group,
        weights=relations.coef * value[relations.cell],
        minlength=relations.n_groups,
    )
    return Table(
        codes,
        labels,
        value,
        lower,
        upper,
        cells["value"].is_not_null().to_numpy(),
        relations,
        tuple(margins),
        group_of,
        role_of,
        balance,
        keys[order],
        order,
        radix,
    )


def sensitive_cells(table: Table) -> np.ndarray:
    """Cells whose true count is 1–4 (the ones the requirement protects)."""
    return table.reported & (table.value >= 1) & (table.value < SMALLEST_PUBLISHED_COUNT)


def known_positive(table: Table) -> np.ndarray:
    """1 / 0 where another published column says a count is positive / zero, -1 elsewhere."""
    return np.where(table.lower >= 1, 1, np.where(table.upper <= 0, 0, -1)).astype(np.int8)
