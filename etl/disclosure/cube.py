"""Both activity cubes as one dense array, the model that protection and audit share.

Axes: year × period (0 = the whole year, 1–4 = quarters) × theme (0 = '*') × place (0 = '*',
1 = GE, 2 = hors canton, 3 = non renseignée, then the communes) × member category (0 = '*') ×
measure. A cell is one flat index into it. Per cell:

- `value`: the true count (0 where the cube has no such row or the count is not reported);
- `model`: the cell is a variable of the attacker's problem: a published reported count, or
  unpublished detail that published cells still constrain (unknown to the attacker, 0 or not,
  whether or not the raw cube has a row for it);
- `published`: the cell belongs to a published crossing (etl/disclosure/crossings.py);
- `lower` / `upper`: what another published figure says of it (positive, or zero).

A commune's cells by member category are not in the model at all: the category of a count only
appears in published sums over all communes, so (docs/DONNEES.md) those cells can always be filled
in whatever the canton's figures are and give the attacker nothing. A commune's quarters by theme
stay in the model, unpublished: they are bound by three published margins at once (a commune's
year by theme, its quarters, the canton's quarters by theme), which does constrain. So do the
unpublished detail of hors canton and non renseignée (their categories, their quarters by theme):
the difference between everywhere and the canton gives their sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.disclosure.crossings import ALL, CANTON, DETAILED_PLACES
from etl.disclosure.facts import Knowledge
from etl.vocabulary import CUBE_MEASURES as MEASURES
from etl.vocabulary import PLACES_OUTSIDE_COMMUNES

STOCKS = ("liste_attente",)  # a stock: the year holds the last quarter's value, not the sum
YEAR_PERIOD = 0  # the period of a year-cube cell
PERIODS = 5  # the year and its four quarters
PLACES = (ALL, CANTON, *PLACES_OUTSIDE_COMMUNES)  # the first places, in this order
UNBOUNDED = np.int64(1) << 40  # no upper bound
SMALLEST_PUBLISHED_COUNT = 5
CUBE_KEYS = ("year", "quarter", "theme", "lieu", "category")  # a cell's keys (quarter 0: the year)
Y, Q, THEME, LIEU, CATEGORY, MEASURE = range(6)  # the axes


@dataclass(frozen=True)
class Axes:
    years: list[int]
    themes: list[str]  # '*' first
    lieux: list[str]  # PLACES first, then the communes
    categories: list[str]  # '*' first
    measures: tuple[str, ...] = MEASURES

    @property
    def shape(self) -> tuple[int, ...]:
        sizes = (self.years, range(PERIODS), self.themes, self.lieux, self.categories)
        return (*(len(s) for s in sizes), len(self.measures))

    @property
    def strides(self) -> np.ndarray:
        shape = self.shape
        strides = np.ones(len(shape), dtype=np.int64)
        for axis in range(len(shape) - 2, -1, -1):
            strides[axis] = strides[axis + 1] * shape[axis + 1]
        return strides

    @property
    def first_commune(self) -> int:
        return len(PLACES)

    def measure(self, name: str) -> int:
        return self.measures.index(name)


@dataclass
class Cube:
    axes: Axes
    value: np.ndarray
    model: np.ndarray
    published: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    knowledge: Knowledge | None  # what the public tables say (None: assume the strictest)

    @property
    def category_sets(self) -> tuple[frozenset[str], ...]:
        return self.knowledge.category_sets if self.knowledge is not None else ()

    @property
    def size(self) -> int:
        return self.value.size

    @property
    def strides(self) -> np.ndarray:
        return self.axes.strides

    def coords(self, cells: np.ndarray) -> np.ndarray:
        """(…, 6) coordinates of flat cell indices."""
        cells = np.asarray(cells, dtype=np.int64)
        out = np.empty((*cells.shape, 6), dtype=np.int64)
        rest = cells
        for axis, stride in enumerate(self.strides):
            out[..., axis], rest = np.divmod(rest, stride)
        return out

    def sensitive(self) -> np.ndarray:
        """Published cells whose true count is 1–4: the ones the requirement protects."""
        return self.published & (self.value >= 1) & (self.value < SMALLEST_PUBLISHED_COUNT)

    def unpublished(self) -> np.ndarray:
        """Cells of the model that no output shows: always unknown to the attacker."""
        return self.model & ~self.published


def _axes(year_cube: pl.DataFrame, quarter_cube: pl.DataFrame) -> Axes:
    both = pl.concat([year_cube.select("year", "theme", "lieu", "category"),
                      quarter_cube.select("year", "theme", "lieu", "category")])  # fmt: skip
    lieux = set(both["lieu"].unique().to_list())
    communes = sorted(x for x in lieux if x.isdigit())
    unknown = lieux - set(PLACES) - set(communes)
    if unknown:  # the cubes' SQL makes no other place: a change there must come here too
        raise ValueError(f"Lieux inattendus dans les cubes : {sorted(unknown)}")
    themes = sorted(set(both["theme"].unique().to_list()) - {ALL})
    categories = sorted(set(both["category"].unique().to_list()) - {ALL})
    years = sorted(both["year"].unique().to_list())
    return Axes(years, [ALL, *themes], [*PLACES, *communes], [ALL, *categories])


def _row_base(cube: pl.DataFrame, axes: Axes, in_year_cube: bool) -> np.ndarray:
    """The flat index of each row's first measure."""
    codes = cube.select(
        pl.col("year").replace_strict({y: i for i, y in enumerate(axes.years)}, return_dtype=pl.Int64),
        (pl.lit(YEAR_PERIOD) if in_year_cube else pl.col("quarter")).cast(pl.Int64).alias("q"),
        pl.col("theme").replace_strict({t: i for i, t in enumerate(axes.themes)}, return_dtype=pl.Int64),
        pl.col("lieu").replace_strict({x: i for i, x in enumerate(axes.lieux)}, return_dtype=pl.Int64),
        pl.col("category").replace_strict(
            {c: i for i, c in enumerate(axes.categories)}, return_dtype=pl.Int64
        ),
    ).to_numpy()  # fmt: skip
    return codes @ axes.strides[:5] if codes.size else np.zeros(0, dtype=np.int64)


def _published_mask(axes: Axes) -> np.ndarray:
    """Per cell, whether its crossing is published (crossings.py, as arrays)."""
    shape = axes.shape
    canton = np.isin(np.arange(shape[LIEU]), [PLACES.index(p) for p in DETAILED_PLACES])
    all_categories = np.arange(shape[CATEGORY]) == 0
    all_themes = np.arange(shape[THEME]) == 0
    year = np.arange(PERIODS) == YEAR_PERIOD
    # year: canton level, or all members; quarter: canton level, or all themes and all members
    in_year = canton[None, :, None] | all_categories[None, None, :]
    in_quarter = canton[None, :, None] | (all_themes[:, None, None] & all_categories[None, None, :])
    by_period = np.where(year[:, None, None, None], in_year[None], in_quarter[None])
    return np.broadcast_to(by_period[None, :, :, :, :, None], shape).reshape(-1)


def build_cube(
    year_cube: pl.DataFrame, quarter_cube: pl.DataFrame, knowledge: Knowledge | None = None
) -> Cube:
    """The dense model of both raw cubes, with what `knowledge` (read from the public tables)
    says of single cells."""
    axes = _axes(year_cube, quarter_cube)
    size = int(np.prod(axes.shape))
    value = np.zeros(size, dtype=np.int64)
    reported = np.zeros(size, dtype=bool)
    for cube, in_year in ((year_cube, True), (quarter_cube, False)):
        base = _row_base(cube, axes, in_year)
        for m, name in enumerate(axes.measures):
            column = cube[name].cast(pl.Int64)
            known = column.is_not_null().to_numpy()
            value[base[known] + m] = column.to_numpy()[known]
            reported[base[known] + m] = True
    lieu = (np.arange(size) // axes.strides[LIEU]) % axes.shape[LIEU]
    category = (np.arange(size) // axes.strides[CATEGORY]) % axes.shape[CATEGORY]
    eliminated = (lieu >= axes.first_commune) & (category != 0)
    published = _published_mask(axes)
    # An unpublished cell is unknown to the attacker even where the raw cube has no row.
    model = (reported | ~published) & ~eliminated
    value[~model] = 0
    cube = Cube(
        axes,
        value,
        model,
        model & published,
        np.zeros(size, dtype=np.int64),
        np.full(size, UNBOUNDED, dtype=np.int64),
        knowledge,
    )
    if knowledge is not None and not knowledge.facts.is_empty():
        cells = cell_index(cube, knowledge.facts)
        positive = knowledge.facts["positive"].to_numpy()
        known = cells >= 0
        cube.lower[cells[known & positive]] = 1
        cube.upper[cells[known & ~positive]] = 0
    return cube


def row_keys(frame: pl.DataFrame, in_year: bool) -> pl.DataFrame:
    """The keys of a cube's rows as the model names them (quarter 0 for a year-cube row)."""
    return frame.select(
        "year",
        (pl.lit(0) if in_year else pl.col("quarter")).cast(pl.Int64).alias("quarter"),
        "theme",
        "lieu",
        "category",
    )


def cell_index(cube: Cube, frame: pl.DataFrame) -> np.ndarray:
    """Flat indices of the cells named by `frame` (year, quarter, theme, lieu, category, measure;
    quarter 0 = the year), -1 where the model has no such coordinates."""
    axes = cube.axes
    maps = {
        "year": {y: i for i, y in enumerate(axes.years)},
        "theme": {t: i for i, t in enumerate(axes.themes)},
        "lieu": {x: i for i, x in enumerate(axes.lieux)},
        "category": {c: i for i, c in enumerate(axes.categories)},
        "measure": {m: i for i, m in enumerate(axes.measures)},
    }
    codes = (
        frame.select(
            *[
                pl.col(k).replace_strict(v, default=-1, return_dtype=pl.Int64)
                for k, v in maps.items()
            ],
            pl.col("quarter").cast(pl.Int64),
        )
        .select("year", "quarter", "theme", "lieu", "category", "measure")
        .to_numpy()
    )
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    valid = (codes >= 0).all(axis=1) & (codes[:, 1] < PERIODS)
    return np.where(valid, codes @ axes.strides, -1)
