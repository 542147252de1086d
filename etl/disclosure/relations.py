"""The published cells as one long frame, and every linear relation an attacker knows between them.

The two activity cubes are one table for disclosure control: a year is quarter 0 (`WHOLE_YEAR`) of
the quarter cube. A cell is (year, quarter, theme, lieu, category, measure) with its true value; the
relations are the margins of the tables (themes → all themes, communes → canton, …), the links
between measures that every member file obeys (women + men ≤ persons, …) and what the cube's other
columns say about a cell (`n_communes` of a commune says whether anyone was served there).

A relation is a group of cells: `Σ members − total` compared with 0. Whether the comparison is `=`,
`≤` or `≥` is read from the true values: where a relation happens to be exact (categories when no
member has two, quarters when every member reports quarterly, women + men when everyone's sex is
known), the attacker is assumed to know it. That can only make the audit stricter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

SMALLEST_PUBLISHED_COUNT = 5

# The counts of the activity cubes (DESIGN §4).
CUBE_MEASURES = (
    "personnes",
    "prestations",
    "nouvelles_personnes",
    "femmes",
    "hommes",
    "mineurs",
    "seniors_65",
    "demandes_non_satisfaites",
    "liste_attente",
)
YEAR_CUBE = "activity_year_cube"
QUARTER_CUBE = "activity_quarter_cube"
CUBE_KEYS = ("year", "quarter", "theme", "lieu", "category")
CELL_KEYS = (*CUBE_KEYS, "measure")
WHOLE_YEAR = 0  # the quarter of a year-cube cell when both cubes are handled together
STOCKS = ("liste_attente",)  # a stock: the year holds its last quarter's value, not the sum
FLOWS = tuple(m for m in CUBE_MEASURES if m not in STOCKS)


@dataclass(frozen=True)
class Margin:
    """An additive relation: within each group (all other keys equal), the cell whose `column` is
    `total` against the cells of `column` selected by `members`, for the `measures` listed."""

    name: str
    column: str
    members: pl.Expr
    total: str | int
    measures: tuple[str, ...] = CUBE_MEASURES


def _is_commune(lieu: pl.Expr) -> pl.Expr:
    return lieu.str.contains(r"^\d+$")


CUBE_MARGINS = (
    Margin("thèmes → toutes les thématiques", "theme", pl.col("theme") != "*", "*"),
    Margin("communes → canton", "lieu", _is_commune(pl.col("lieu")), "GE"),
    Margin(
        "canton, hors canton, non renseignée → partout",
        "lieu",
        pl.col("lieu").is_in(["GE", "hors_canton", "non_renseignee"]),
        "*",
    ),
    # A member with several categories counts in each: the categories add up to at least the total.
    Margin("catégories → tous les membres", "category", pl.col("category") != "*", "*"),
    # Members reporting by year count in the year only: the quarters add up to at most the year.
    Margin("trimestres → année", "quarter", pl.col("quarter") != WHOLE_YEAR, WHOLE_YEAR, FLOWS),
    # A stock: the year holds each member's last quarter; those ending in Q4 are the Q4 cell.
    Margin("4e trimestre → année (stock)", "quarter", pl.col("quarter") == 4, WHOLE_YEAR, STOCKS),
    # What every member file obeys (etl/submission/validate.py): parts of the persons served.
    Margin(
        "femmes + hommes → personnes",
        "measure",
        pl.col("measure").is_in(["femmes", "hommes"]),
        "personnes",
    ),
    Margin(
        "mineurs + seniors → personnes",
        "measure",
        pl.col("measure").is_in(["mineurs", "seniors_65"]),
        "personnes",
    ),
    Margin(
        "nouvelles personnes → personnes",
        "measure",
        pl.col("measure") == "nouvelles_personnes",
        "personnes",
    ),
)


def is_sensitive(value: pl.Expr) -> pl.Expr:
    """A count from 1 to SMALLEST_PUBLISHED_COUNT - 1 (zero and missing values are not)."""
    return value.is_between(1, SMALLEST_PUBLISHED_COUNT - 1).fill_null(False)


def cube_cells(year_cube: pl.DataFrame, quarter_cube: pl.DataFrame) -> pl.DataFrame:
    """Both cubes as one long frame: the keys, `measure`, `value` (true count, NULL = not reported),
    `row` (the row of its cube), `in_year_cube`, and `known_positive`: the attacker knows the count is
    positive (true) or zero (false) from another published column, or nothing (NULL).

    `n_communes` of a commune's cell is 1 when someone was served there: it is published, so it
    tells whether a withheld number of persons is 0 or at least 1.
    """
    parts = []
    for cube, in_year in ((year_cube, True), (quarter_cube, False)):
        quarter = pl.lit(WHOLE_YEAR, pl.Int32) if in_year else pl.col("quarter").cast(pl.Int32)
        parts.append(
            cube.with_row_index("row")
            .select(
                "row",
                pl.col("year").cast(pl.Int32),
                quarter.alias("quarter"),
                "theme",
                "lieu",
                "category",
                pl.lit(in_year).alias("in_year_cube"),
                *[pl.col(m).cast(pl.Int64) for m in CUBE_MEASURES],
                (pl.col("n_communes") > 0).alias("__reached")
                if "n_communes" in cube.columns
                else pl.lit(None, pl.Boolean).alias("__reached"),
            )
            .unpivot(
                on=list(CUBE_MEASURES),
                index=["row", *CUBE_KEYS, "in_year_cube", "__reached"],
                variable_name="measure",
                value_name="value",
            )
        )
    cells = pl.concat(parts)
    reached_known = (pl.col("measure") == "personnes") & _is_commune(pl.col("lieu"))
    return cells.with_columns(
        pl.when(reached_known).then(pl.col("__reached")).alias("known_positive")
    ).drop("__reached")


@dataclass(frozen=True)
class Relations:
    """Every relation as sparse rows: `group` (0…n_groups-1), `cell` (row of the cells frame) and
    `coef` (+1 member, -1 total); `sense` per group: 0 for `=`, -1 for `≤ 0`, +1 for `≥ 0`;
    `margin` per group: the index of its Margin (for messages)."""

    group: np.ndarray
    cell: np.ndarray
    coef: np.ndarray
    sense: np.ndarray
    margin: np.ndarray
    n_groups: int


def _codes(cells: pl.DataFrame) -> dict[str, np.ndarray]:
    """Each key column as dense integer codes (labels through an Enum: no sort of a million strings)."""
    codes = {}
    for key in CELL_KEYS:
        column = cells[key]
        if column.dtype == pl.String:
            labels = column.unique().sort().to_list()
            codes[key] = column.cast(pl.Enum(labels)).to_physical().cast(pl.Int64).to_numpy()
        else:
            codes[key] = (column.rank("dense").cast(pl.Int64) - 1).to_numpy()
    return codes


def _margin_groups(
    cells: pl.DataFrame, codes: dict[str, np.ndarray], margin: Margin
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group key, cell, coef) of one margin's rows, groups holding a total cell only."""
    flags = cells.select(
        member=(margin.members & pl.col("measure").is_in(margin.measures)).fill_null(False),
        total=(pl.col(margin.column) == margin.total)
        & pl.col("measure").is_in(
            margin.measures if margin.column != "measure" else [margin.total]
        ),
    )
    member, total = flags["member"].to_numpy(), flags["total"].to_numpy()
    rows = np.flatnonzero(member | total)
    key = np.zeros(rows.size, dtype=np.int64)
    for name in CELL_KEYS:
        if name != margin.column:
            key = key * (int(codes[name].max()) + 1) + codes[name][rows]
    with_total = np.isin(key, key[total[rows]])
    rows, key = rows[with_total], key[with_total]
    coef = np.where(total[rows], -1, 1).astype(np.int8)
    return key, rows, coef


def build_relations(cells: pl.DataFrame, margins=CUBE_MARGINS) -> Relations:
    """The relations of `cells` (a frame from `cube_cells`), senses read from the true values."""
    codes = _codes(cells)
    value = cells["value"].fill_null(0).to_numpy()
    groups, cell_rows, coefs, margin_of = [], [], [], []
    offset = 0
    for number, margin in enumerate(margins):
        key, rows, coef = _margin_groups(cells, codes, margin)
        if rows.size == 0:
            continue
        _, group = np.unique(key, return_inverse=True)
        n = int(group.max()) + 1
        groups.append(group + offset)
        cell_rows.append(rows)
        coefs.append(coef)
        margin_of.append(np.full(n, number, dtype=np.int16))
        offset += n
    if not groups:
        empty = np.zeros(0, dtype=np.int64)
        return Relations(empty, empty, empty.astype(np.int8), empty.astype(np.int8), empty, 0)
    group, cell, coef = np.concatenate(groups), np.concatenate(cell_rows), np.concatenate(coefs)
    balance = np.bincount(group, weights=coef * value[cell], minlength=offset)
    sense = np.sign(balance).astype(
        np.int8
    )  # members minus total: 0 exact, <0 at most, >0 at least
    return Relations(group, cell, coef, sense, np.concatenate(margin_of), offset)
