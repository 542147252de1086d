"""The published activity cubes by year and by quarter, on a tiny activity set summed by hand.

etl/schema/derived/050_aggregates.sql builds one cube keyed by period kind and materialises the two
public shapes from it (`activity_year_cube`, `activity_quarter_cube`: a contract with researchers,
docs/DONNEES.md). Whatever the SQL looks like inside, the public tables must say: a year is the sum
of a sub-annual member's quarters for the flows and its last quarter for the stock
(`liste_attente`), plus the annual members' figures; a quarter holds sub-annual members only.

In Carouge (6608), theme alimentation, {YEAR}:

| member | category    | period   | persons | waiting list |
|--------|-------------|----------|---------|--------------|
| Q1     | association | T1       | 10      | 8            |
| Q1     | association | T2       | 12      | 6            |
| Q2     | association | T1       | 20      | 5            |
| Q2     | association | T2       | 30      | 9            |
| A1     | fondation   | the year | 40      | 7            |

Every count is 0 or at least 5 and no difference of published cells makes one of 1 to 4, so
disclosure control withholds nothing (checked below: no `_supprime` flag is set).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from demo_settings import LATEST_COMPLETE_YEAR as YEAR

from etl import db, public
from etl.build import record_run
from etl.publish import next_version
from etl.steps import load_reference
from etl.vocabulary import ALL, CANTON

CAROUGE = "6608"
MEMBERS = [("Q1", ["association"]), ("Q2", ["association"]), ("A1", ["fondation"])]
# member, period, persons, waiting list
ACTIVITY = [
    ("Q1", f"{YEAR}-T1", 10, 8),
    ("Q1", f"{YEAR}-T2", 12, 6),
    ("Q2", f"{YEAR}-T1", 20, 5),
    ("Q2", f"{YEAR}-T2", 30, 9),
    ("A1", str(YEAR), 40, 7),
]

# By hand, from the table above.
YEAR_PERSONS = 10 + 12 + 20 + 30 + 40  # flows: every quarter and the annual figure
YEAR_WAITING = 6 + 9 + 7  # the stock: Q1's and Q2's last quarter (T2), A1's year
QUARTER_PERSONS = {1: 10 + 20, 2: 12 + 30}  # sub-annual members only
QUARTER_WAITING = {1: 8 + 5, 2: 6 + 9}
ASSOCIATION_YEAR = 10 + 12 + 20 + 30  # Q1 and Q2


def build_cubes_db(path: Path) -> Path:
    """A database (and its public file) holding only the activity above, in one publish."""
    with next_version(path, from_scratch=True) as con:
        db.apply_schema(con)
        load_reference.run(con)
        now = dt.datetime(YEAR + 1, 2, 1, 10, 0)
        for code, categories in MEMBERS:
            con.execute(
                "insert into members values (?, ?, ?, ?, ?, false)",
                [code, f"Membre {code}", categories, ["alimentation"], dt.date(2010, 1, 1)],
            )
        for load_id, (code, period, persons, waiting) in enumerate(ACTIVITY, start=1):
            con.execute(
                "insert into submissions values (?, ?, ?, ?, ?, null, null, ?)",
                [code, period, load_id, f"{load_id:064d}", f"{code}.xlsx", now],
            )
            con.execute(
                """insert into activity (load_id, member_code, period_code, year, theme, lieu,
                       ofs_number, personnes, liste_attente, is_demo)
                   values (?, ?, ?, ?, 'alimentation', ?, ?, ?, ?, false)""",
                [load_id, code, period, YEAR, CAROUGE, int(CAROUGE), persons, waiting],
            )
        db.refresh_derived(con)
        record_run(con, started_at=now, kind="init", status="charge")
        public.publish_public(con, path)
    return path


@pytest.fixture(scope="module")
def cubes(tmp_path_factory) -> dict[str, pl.DataFrame]:
    """The two public cubes, as the public file holds them."""
    path = build_cubes_db(tmp_path_factory.mktemp("cubes") / "observatoire.duckdb")
    con = public.open_public_reader(public.public_path(path))
    try:
        return {
            step: db.query(con, f"select * from public.activity_{step}_cube")
            for step in ("year", "quarter")
        }
    finally:
        con.close()


def cell(cube: pl.DataFrame, lieu: str, theme: str = ALL, category: str = ALL, **period) -> dict:
    keys = {"lieu": lieu, "theme": theme, "category": category, **period}
    rows = cube.filter(*(pl.col(column) == value for column, value in keys.items()))
    assert rows.height == 1, f"{keys}: {rows.height} rows"
    return rows.row(0, named=True)


def test_nothing_is_withheld(cubes):
    """The expectations below hold as they are only if disclosure control withheld no cell."""
    for cube in cubes.values():
        flags = [column for column in cube.columns if column.endswith(public.SUPPRESSED_SUFFIX)]
        assert flags and not cube.select(pl.any_horizontal(flags).any()).item()


@pytest.mark.parametrize("lieu", [CAROUGE, CANTON, ALL])
def test_a_year_sums_the_flows_and_keeps_the_last_stock(cubes, lieu):
    for theme in (ALL, "alimentation"):
        year = cell(cubes["year"], lieu, theme, year=YEAR)
        assert year["personnes"] == YEAR_PERSONS
        assert year["liste_attente"] == YEAR_WAITING
        assert year["n_members"] == 3
        assert year["n_members_partial"] == 2  # Q1 and Q2 sent two quarters of four


def test_a_year_by_member_category(cubes):
    association = cell(cubes["year"], CANTON, category="association", year=YEAR)
    assert (association["personnes"], association["liste_attente"]) == (ASSOCIATION_YEAR, 6 + 9)
    fondation = cell(cubes["year"], CANTON, category="fondation", year=YEAR)
    assert (fondation["personnes"], fondation["liste_attente"]) == (40, 7)


@pytest.mark.parametrize("quarter", [1, 2])
@pytest.mark.parametrize("lieu", [CAROUGE, CANTON, ALL])
def test_a_quarter_holds_the_sub_annual_members(cubes, lieu, quarter):
    row = cell(cubes["quarter"], lieu, year=YEAR, quarter=quarter)
    assert row["personnes"] == QUARTER_PERSONS[quarter]
    assert row["liste_attente"] == QUARTER_WAITING[quarter]
    assert row["n_members"] == 2


def test_the_quarters_and_the_annual_member_make_the_year(cubes):
    """Flows: the quarters plus the annual figure; the stock: the last quarter plus the annual."""
    quarters = cubes["quarter"].filter(
        (pl.col("lieu") == CANTON) & (pl.col("theme") == ALL) & (pl.col("category") == ALL)
    )
    year = cell(cubes["year"], CANTON, year=YEAR)
    annual = cell(cubes["year"], CANTON, category="fondation", year=YEAR)
    assert sorted(quarters["quarter"]) == sorted(QUARTER_PERSONS)
    assert quarters["personnes"].sum() + annual["personnes"] == year["personnes"]
    last = quarters.filter(pl.col("quarter") == pl.col("quarter").max())
    assert last["liste_attente"].item() + annual["liste_attente"] == year["liste_attente"]


def test_the_public_columns_are_the_contract(cubes):
    """The columns researchers read (docs/DONNEES.md), in their order, before the flags."""
    measures = [
        "personnes",
        "prestations",
        "nouvelles_personnes",
        "femmes",
        "hommes",
        "mineurs",
        "seniors_65",
        "demandes_non_satisfaites",
        "liste_attente",
    ]
    cells = ["theme", "lieu", "ofs_number", "category", *measures]
    expected = {
        "year": ["year", *cells, "n_members", "n_communes", "n_members_partial", "is_demo"],
        "quarter": ["year", "quarter", *cells, "n_members", "n_communes", "is_demo"],
    }
    for step, cube in cubes.items():
        assert cube.columns[: len(expected[step])] == expected[step]
        assert cube.columns[len(expected[step]) :] == [f"{m}_supprime" for m in measures]
