"""Every linear relation an attacker knows between the cells of the model (etl/disclosure/cube.py).

A family of relations lives on one axis: in each group (all other coordinates equal) the cells of
the `members` coordinates against the `total` coordinate, `Σ members − total` compared with 0:

- themes → all themes, communes → the canton (GE), GE + hors canton + non renseignée → everywhere:
  exact sums;
- categories → all members, at the canton's level (a commune's categories are not in the model):
  the categories add up to at least all members (a member with two categories counts in both), and
  categories that no member holds together add up to at most all members (the attacker reads the
  members' categories in the public `members` table);
- quarters → year (flows: members reporting by year are only in the year), the fourth quarter →
  the year (a stock, `liste_attente`: the year holds each member's last quarter);
- women + men, minors + seniors, new persons → persons (what every member file obeys).

An inequality is an equality for the attacker only where the public tables show it must be one
(etl/disclosure/facts.py: no member reporting by year, none holding several categories, a link
exact in every cell); without that knowledge, wherever it happens to be exact in the data, which
is stricter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from etl.disclosure.cube import (
    CATEGORY,
    LIEU,
    MEASURE,
    PERIODS,
    PLACES,
    STOCKS,
    THEME,
    YEAR_PERIOD,
    Axes,
    Cube,
    Q,
    Y,
)

EQUAL, AT_MOST, AT_LEAST = 0, -1, 1  # Σ members − total  = 0 / ≤ 0 / ≥ 0
# The kinds of relation: how each is known to hold (see _senses).
SUM, QUARTERS, STOCK, CATEGORIES, PACKING, LINK = (
    "somme", "trimestres", "stock", "catégories", "exclusives", "mesures"
)  # fmt: skip
STRUCTURAL_SENSE = {
    SUM: EQUAL,
    QUARTERS: AT_MOST,
    STOCK: AT_MOST,
    CATEGORIES: AT_LEAST,
    PACKING: AT_MOST,
    LINK: AT_MOST,
}


@dataclass(frozen=True)
class Family:
    name: str  # in French, for messages
    axis: int
    total: int  # the total's coordinate on `axis`
    members: np.ndarray  # bool per coordinate of `axis`
    measures: np.ndarray  # bool per measure: where the family applies (all, on the measure axis)
    kind: str = SUM
    # Groups only where these other coordinates are allowed: (axis, bool per coordinate) pairs.
    where: tuple[tuple[int, np.ndarray], ...] = ()


@dataclass
class Groups:
    """The groups of one family: the flat index of each group's total cell (sorted), the true
    `Σ members − total`, and the sense known to the attacker."""

    family: Family
    keys: np.ndarray
    balance: np.ndarray
    sense: np.ndarray

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The group number of total-cell indices, -1 where there is no such group."""
        if self.keys.size == 0:
            return np.full(keys.shape, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        return np.where(self.keys[at] == keys, at, -1)


def category_packings(categories: list[str], sets: tuple[frozenset[str], ...]) -> list[list[int]]:
    """The largest groups of categories (as coordinates) that no member holds two of: their sum
    cannot exceed all members. Only needed where some member holds several categories."""
    if not any(len(s) > 1 for s in sets):
        return []
    codes = {c: i for i, c in enumerate(categories)}
    # A category with no activity in the cubes is in no relation.
    together = {
        (codes[a], codes[b])
        for s in sets
        for a in s
        for b in s
        if a != b and {a, b} <= codes.keys()
    }
    found: list[set[int]] = []
    everyone = list(range(1, len(categories)))
    for size in range(len(everyone), 0, -1):
        for chosen in itertools.combinations(everyone, size):
            group = set(chosen)
            if any((a, b) in together for a in group for b in group):
                continue
            if not any(group <= bigger for bigger in found):
                found.append(group)
    return [sorted(group) for group in found]


def families(axes: Axes, sets: tuple[frozenset[str], ...] = ()) -> list[Family]:
    """The families of relations of the model (module docstring)."""
    n = axes.shape
    every = np.ones(n[MEASURE], dtype=bool)
    stocks = np.isin(np.array(axes.measures), STOCKS)
    lieux = np.array(axes.lieux)
    measures = np.array(axes.measures)
    themes = np.arange(n[THEME]) != 0
    canton_level = ((LIEU, np.arange(n[LIEU]) < len(PLACES)),)
    # A commune's categories are not in the model: its cells add up to GE for all members only.
    all_members = ((CATEGORY, np.arange(n[CATEGORY]) == 0),)
    out = [
        Family("thèmes → toutes les thématiques", THEME, 0, themes, every),
        Family(
            "communes → canton", LIEU, 1, np.arange(n[LIEU]) >= len(PLACES), every, SUM, all_members
        ),
        Family(
            "canton, hors canton, non renseignée → partout",
            LIEU,
            0,
            np.isin(lieux, PLACES[1:]),
            every,
        ),
        Family(
            "catégories → tous les membres",
            CATEGORY,
            0,
            np.arange(n[CATEGORY]) != 0,
            every,
            CATEGORIES,
            canton_level,
        ),
    ]
    for packing in category_packings(axes.categories, sets) or [[k] for k in range(1, n[CATEGORY])]:
        members = np.isin(np.arange(n[CATEGORY]), packing)
        names = ", ".join(axes.categories[k] for k in packing)
        out.append(
            Family(
                f"{names} ≤ tous les membres", CATEGORY, 0, members, every, PACKING, canton_level
            )
        )
    quarters = np.arange(PERIODS) != YEAR_PERIOD
    out += [
        Family("trimestres → année", Q, YEAR_PERIOD, quarters, ~stocks, QUARTERS),
        Family(
            "4e trimestre → année (stock)", Q, YEAR_PERIOD, np.arange(PERIODS) == 4, stocks, STOCK
        ),
    ]
    if "personnes" in axes.measures:
        persons = axes.measure("personnes")
        for name, parts in (
            ("femmes + hommes → personnes", ("femmes", "hommes")),
            ("mineurs + seniors → personnes", ("mineurs", "seniors_65")),
            ("nouvelles personnes → personnes", ("nouvelles_personnes",)),
        ):
            members = np.isin(measures, parts)
            if members.any():
                out.append(Family(name, MEASURE, persons, members, every, LINK))
    return out


def _groups(cube: Cube, family: Family) -> Groups:
    shape = cube.axes.shape
    value = cube.value.reshape(shape)
    model = cube.model.reshape(shape)
    index = np.arange(cube.size, dtype=np.int64).reshape(shape)
    members = np.flatnonzero(family.members)
    balance = np.take(value, members, axis=family.axis).sum(axis=family.axis) - np.take(
        value, family.total, axis=family.axis
    )
    exists = np.take(model, members, axis=family.axis).any(axis=family.axis) | np.take(
        model, family.total, axis=family.axis
    )
    keys = np.take(index, family.total, axis=family.axis)
    limits = family.where if family.axis == MEASURE else (*family.where, (MEASURE, family.measures))
    for axis, allowed in limits:
        reduced = axis if axis < family.axis else axis - 1  # the family's axis is gone
        exists = exists & allowed.reshape([-1 if a == reduced else 1 for a in range(exists.ndim)])
    keys, balance = keys[exists], balance[exists]
    order = np.argsort(keys)
    keys, balance = keys[order], balance[order]
    return Groups(family, keys, balance, _senses(cube, family, keys, balance))


def _senses(cube: Cube, family: Family, keys: np.ndarray, balance: np.ndarray) -> np.ndarray:
    """The sense of each group as the attacker knows it: `=` where the relation is exact in the
    data and the public tables show it must be; the relation's own inequality where it is exact
    but could not be known to be; the data's sense otherwise (never a false relation)."""
    truth = np.sign(balance).astype(np.int8)
    knowledge = cube.knowledge
    if knowledge is None:
        return truth
    if family.kind == SUM:
        known = np.ones(keys.size, dtype=bool)
    elif family.kind in (QUARTERS, STOCK):
        unsure = knowledge.years_with_annual_members
        if family.kind == STOCK:
            unsure = unsure | knowledge.years_with_incomplete_members
        years = np.array(cube.axes.years)[keys // cube.strides[Y]]
        known = ~np.isin(years, sorted(unsure))
    elif family.kind == CATEGORIES:
        known = np.full(keys.size, not knowledge.several_categories)
    elif family.kind == LINK:
        totals = cube.value[keys]
        known = np.full(keys.size, bool(np.all(balance[totals > 0] == 0)))
    else:
        known = np.zeros(keys.size, dtype=bool)
    inequality = np.int8(STRUCTURAL_SENSE[family.kind])
    return np.where(truth != 0, truth, np.where(known, EQUAL, inequality)).astype(np.int8)


def build_groups(cube: Cube) -> list[Groups]:
    """Every family's groups, from the true values of `cube`."""
    return [_groups(cube, family) for family in families(cube.axes, cube.category_sets)]


def membership(cube: Cube, groups: Groups, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group number, role) of each cell in one family: role +1 member, -1 total, 0 not in it
    (group -1)."""
    family = groups.family
    coordinate = (cells // cube.strides[family.axis]) % cube.axes.shape[family.axis]
    role = np.where(
        coordinate == family.total, -1, np.where(family.members[coordinate], 1, 0)
    ).astype(np.int64)
    keys = cells + (family.total - coordinate) * cube.strides[family.axis]
    group = np.where(role != 0, groups.find(keys), -1)
    return group, np.where(group >= 0, role, 0)


def relation_rows(cube: Cube, groups: list[Groups], cells: np.ndarray):
    """The relations as sparse rows over `cells` (flat indices): (row, cell, coef) per entry, and
    per row its balance, sense and family number; rows are numbered family after family."""
    rows, entries, coefs, balance, sense, family_of = [], [], [], [], [], []
    offset = 0
    for number, family_groups in enumerate(groups):
        group, role = membership(cube, family_groups, cells)
        inside = group >= 0
        rows.append(group[inside] + offset)
        entries.append(cells[inside])
        coefs.append(role[inside])
        balance.append(family_groups.balance)
        sense.append(family_groups.sense)
        family_of.append(np.full(family_groups.keys.size, number, dtype=np.int16))
        offset += family_groups.keys.size
    return (
        np.concatenate(rows),
        np.concatenate(entries),
        np.concatenate(coefs),
        np.concatenate(balance),
        np.concatenate(sense),
        np.concatenate(family_of),
    )
