"""Every queries/*.sql file: a header, and it runs on the demo database with default parameters.

The dashboard's own queries also get values checked against the raw tables, computed here in
Polars from the rows members sent (not with the aggregates under test).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
from demo_settings import LATEST_COMPLETE_YEAR as YEAR

from dashboard import data
from etl import db as etl_db
from etl.paths import QUERIES_DIR, ROOT
from etl.public import open_public_reader, public_path
from etl.vocabulary import CUBE_PERIOD_KINDS

QUERY_FILES = sorted(QUERIES_DIR.glob("*.sql"))
HEADER_FIELDS = ("name", "grain", "key", "parameters", "used by")
ONE_ROW = "(one row)"
# Where a query may be called from: product code only (tests and benchmarks call every query).
PRODUCT_CODE = sorted([*(ROOT / "dashboard").rglob("*.py"), *(ROOT / "etl").rglob("*.py")])

# Default values by parameter name; PER_QUERY overrides where a name means something else.
DEFAULTS: dict[str, object] = {
    "year": YEAR,
    "year_from": 2019,
    "year_to": YEAR,
    "metric": "personnes",
    "theme": "alimentation",
    "themes": ["*", "alimentation"],
    "lieux": ["*", "GE", "6621"],
    "categories": ["*"],
    "communes": [],
    "levels": [],
    "words": [],
    "codes": ["social_assistance_rate_pct"],
    "ofs": 6621,
    "n": 3,
    "limit": 10,
    "granularity": "annee",
    "late_days": 30,
    "today": dt.date(2025, 3, 1),
    "date_from": None,
    "date_to": None,
    "period": YEAR * 4 + 3,  # a quarter number (year × 4 + quarter − 1): the demo's last quarter
    "statuses": [],
    "step": "annee",
}
# Queries run once more per variant: a parameter that changes the grain (the trends' period kind).
VARIANTS: dict[str, list[dict[str, object]]] = {"trends": [{"step": "trimestre"}]}
PER_QUERY: dict[str, dict[str, object]] = {
    "export_context_indicators": {"ofs": [6621, 6643]},
    "export_gaps": {"ofs": [6621, 6643]},
    "export_activity": {"lieux": ["GE", "6621"]},
}


def is_raw_query(name: str) -> bool:
    """The secretariat's queries read the raw file (data.run_admin); all others the public file."""
    return name.startswith("admin_")


def default_parameters(name: str) -> dict[str, object]:
    wanted = data.query_parameters(name)
    missing = wanted - DEFAULTS.keys() - PER_QUERY.get(name, {}).keys()
    assert not missing, f"{name}: add a default value for {sorted(missing)} in test_queries.py"
    return {key: PER_QUERY.get(name, {}).get(key, DEFAULTS.get(key)) for key in wanted}


def run(name: str, **params) -> pl.DataFrame:
    return data.run_admin(name, **params) if is_raw_query(name) else data.run(name, **params)


# --- every query ----------------------------------------------------------------------------------


def header(path: Path) -> dict[str, str]:
    """The header fields of a query file; a field may continue on indented comment lines."""
    fields: dict[str, str] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        match = re.match(r"^--\s*(name|grain|key|parameters|used by):\s*(.*)$", line)
        if match:
            current = match.group(1)
            fields.setdefault(current, match.group(2).strip())
        elif current and re.match(r"^--\s{2,}\S", line):
            fields[current] += " " + line[2:].strip()
        else:
            current = None
    return fields


def key_columns(path: Path) -> list[str]:
    key = header(path)["key"]
    return [] if key == ONE_ROW else [column.strip() for column in key.split(",")]


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_header_names_the_query(path: Path):
    fields = header(path)
    assert set(HEADER_FIELDS) <= fields.keys(), f"{path.name}: header lacks {HEADER_FIELDS}"
    assert fields["name"] == path.stem
    assert all(fields[field] for field in HEADER_FIELDS)


def callers(name: str) -> set[str]:
    """Product files that name the query as a string literal (how data.run and exports call it)."""
    literal = re.compile(rf"[\"']{name}[\"']")
    return {
        str(path.relative_to(ROOT))
        for path in PRODUCT_CODE
        if literal.search(path.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_used_by_names_the_real_callers(path: Path):
    """The header's « used by » lists exactly the files that call the query, so a reader can
    follow a number from the SQL to the page (docs/ARCHITECTURE.md)."""
    named = set(re.findall(r"[\w/]+\.py", header(path)["used by"]))
    assert named == callers(path.stem), f"{path.name}: update its « used by » line"


QUERY_RUNS = [
    pytest.param(path, variant, id="-".join([path.stem, *map(str, variant.values())]))
    for path in QUERY_FILES
    for variant in [{}, *VARIANTS.get(path.stem, [])]
]


@pytest.mark.parametrize(("path", "variant"), QUERY_RUNS)
def test_runs_on_demo_database_with_one_row_per_key(path: Path, variant: dict, demo_env):
    frame = run(path.stem, **(default_parameters(path.stem) | variant))
    assert frame.height > 0, f"{path.stem} returns no row on the demo database"
    key = key_columns(path)
    if not key:
        assert frame.height == 1
        return
    assert set(key) <= set(frame.columns), f"{path.stem}: key {key} not among {frame.columns}"
    duplicates = frame.filter(pl.struct(key).is_duplicated())
    assert duplicates.is_empty(), f"{path.stem}: several rows per {key}:\n{duplicates.head()}"


def test_unknown_or_missing_parameters_are_refused(demo_env):
    with pytest.raises(data.QueryError, match="manquants"):
        data.run("overview_kpis")
    with pytest.raises(data.QueryError, match="inconnus"):
        data.run("ref_themes", year=2024)
    with pytest.raises(data.QueryError):
        data.run("../etl/schema/001_reference")


def test_reused_cursors_answer_each_thread_and_survive_a_failed_query(demo_env):
    """The data layer lends its cursors again: a failed query must not poison the next one, and
    sessions querying at the same time each get their own answer."""
    from concurrent.futures import ThreadPoolExecutor

    path, version = data._current_version()
    reader = data._reader(str(path), version)
    with pytest.raises(Exception, match="no_such_table"):
        reader.query("select * from public.no_such_table", {})
    assert reader.query("select count(*) as n from public.communes", {}).item() == 45

    def ofs_of(index: int) -> int:
        sql = "select ofs_number from public.communes order by ofs_number limit 1 offset $i"
        return reader.query(sql, {"i": index}).item()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ofs_of, [i % 45 for i in range(200)]))
    expected = sorted(reader.query("select ofs_number from public.communes", {}).to_series())
    assert answers == [expected[i % 45] for i in range(200)]


# --- values of the dashboard's queries, checked against the raw rows --------------------------------


@pytest.fixture(scope="module")
def raw(demo_db) -> dict[str, pl.DataFrame]:
    """The raw tables the expectations start from."""
    con = etl_db.open_reader(demo_db)
    try:
        return {
            name: etl_db.query(con, f"select * from main.{name}")
            for name in ("activity", "periods", "members", "submissions", "population")
        }
    finally:
        con.close()


def kept_activity(raw: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Activity rows of the granularity that counts for each member × year (annee > trimestre >
    mois), with their period's granularity and quarter."""
    rank = {"annee": 1, "trimestre": 2, "mois": 3}
    rows = raw["activity"].join(
        raw["periods"].select(
            pl.col("code").alias("period_code"), "granularity", "quarter", "month", "end_date"
        ),
        on="period_code",
    )
    rows = rows.with_columns(pl.col("granularity").replace_strict(rank).alias("rank"))
    return rows.filter(pl.col("rank") == pl.col("rank").min().over("member_code", "year"))


def kpis(year: int) -> dict[str, dict]:
    return {row["metric"]: row for row in data.run("overview_kpis", year=year).to_dicts()}


def test_overview_kpis_match_the_rows_members_sent(demo_env, raw):
    rows = kept_activity(raw)
    this_year, last_year = (
        rows.filter(pl.col("year") == YEAR),
        rows.filter(pl.col("year") == YEAR - 1),
    )
    figures = kpis(YEAR)

    persons = this_year["personnes"].sum()
    previous = last_year["personnes"].sum()
    assert figures["personnes"]["value"] == persons
    assert figures["personnes"]["previous_value"] == previous
    assert figures["personnes"]["change_pct"] == pytest.approx(
        100 * (persons - previous) / previous
    )
    assert not figures["personnes"]["suppressed"]

    assert figures["n_members"]["value"] == this_year["member_code"].n_unique()
    reached = (
        this_year.filter(pl.col("ofs_number").is_not_null())
        .group_by("ofs_number")
        .agg(pl.col("personnes").sum())
    )
    assert figures["n_communes"]["value"] == reached.filter(pl.col("personnes") > 0).height
    assert (
        figures["demandes_non_satisfaites"]["value"] == this_year["demandes_non_satisfaites"].sum()
    )


def test_waiting_list_is_the_last_sub_period_not_a_sum(demo_env, raw, demo_db):
    """liste_attente is a stock: the year's value is the one of the last period each member sent."""
    rows = kept_activity(raw).filter(pl.col("year") == YEAR)
    last_period = rows.filter(pl.col("end_date") == pl.col("end_date").max().over("member_code"))
    expected = last_period["liste_attente"].sum()
    assert expected < rows["liste_attente"].sum(), "the demo should have sub-annual members"
    shown = kpis(YEAR)["liste_attente"]
    if shown["value"] is None:  # withheld by disclosure control: then it says so
        assert shown["suppressed"]
    else:
        assert shown["value"] == expected
    # Every year whose canton figure is published shows the stock, never the sum of periods.
    checked = 0
    for year in sorted(kept_activity(raw)["year"].unique()):
        rows = kept_activity(raw).filter(pl.col("year") == year)
        last = rows.filter(pl.col("end_date") == pl.col("end_date").max().over("member_code"))
        figure = kpis(year)["liste_attente"]
        if figure["value"] is not None:
            assert figure["value"] == last["liste_attente"].sum(), year
            checked += 1
    assert checked >= 1, "no year of the demo publishes the canton's waiting list"


def most_published_commune(raw) -> int:
    """The commune whose yearly totals are published most often: disclosure control withholds
    many (even a city's, when they protect small counts), and the test needs published years."""
    communes = [str(ofs) for ofs in raw["activity"]["ofs_number"].drop_nulls().unique().sort()]
    frame = data.run(
        "trends", step="annee", metric="personnes", themes=["*"], lieux=communes, categories=["*"]
    )
    published = frame.filter(~pl.col("suppressed")).group_by("lieu").len().sort(["len", "lieu"])
    return int(published["lieu"][-1])


def test_trends_by_year_counts_and_rates_for_one_commune(demo_env, raw):
    ofs = most_published_commune(raw)
    frame = data.run(
        "trends", step="annee", metric="personnes", themes=["*"], lieux=[str(ofs)], categories=["*"]
    )
    rows = kept_activity(raw).filter(pl.col("ofs_number") == ofs)
    by_year = dict(rows.group_by("year").agg(pl.col("personnes").sum()).iter_rows())
    population = raw["population"].filter(pl.col("is_reference") & (pl.col("ofs_number") == ofs))
    residents = dict(population.select("year", "population").iter_rows())
    status = dict(population.select("year", "status").iter_rows())
    checked = 0
    for row in frame.to_dicts():
        assert row["lieu"] == str(ofs) and row["theme"] == "*"
        if row["suppressed"]:
            assert row["value"] is None and row["rate_per_1000"] is None
            continue
        assert row["value"] == by_year[row["year"]]
        assert row["rate_per_1000"] == pytest.approx(
            1000 * by_year[row["year"]] / residents[row["year"]]
        )
        assert row["population_status"] == status[row["year"]]
        previous = by_year.get(row["year"] - 1)
        if previous and row["previous_value"] is not None:
            assert row["change_pct"] == pytest.approx(100 * (row["value"] - previous) / previous)
        checked += 1
    assert checked >= 4


def test_trends_by_year_canton_rate_uses_the_45_communes(demo_env, raw):
    frame = data.run(
        "trends",
        step="annee",
        metric="personnes",
        themes=["*"],
        lieux=["GE", "*"],
        categories=["*"],
    )
    rows = kept_activity(raw).filter(pl.col("year") == YEAR)
    in_canton = rows.filter(pl.col("ofs_number").is_not_null())["personnes"].sum()
    everywhere = rows["personnes"].sum()
    canton_population = (
        raw["population"]
        .filter(pl.col("is_reference") & (pl.col("year") == YEAR))["population"]
        .sum()
    )
    cells = {row["lieu"]: row for row in frame.filter(pl.col("year") == YEAR).to_dicts()}
    assert cells["GE"]["value"] == in_canton
    assert cells["GE"]["rate_per_1000"] == pytest.approx(1000 * in_canton / canton_population)
    assert cells["*"]["value"] == everywhere
    assert cells["*"]["rate_per_1000"] is None  # no population for "every place"


def test_trends_by_theme_and_category(demo_env, raw):
    rows = kept_activity(raw).filter(pl.col("year") == YEAR)
    members = raw["members"].select(pl.col("code").alias("member_code"), "categories")
    by_theme = rows.group_by("theme").agg(pl.col("personnes").sum()).sort("personnes")
    every_theme = data.run(
        "trends",
        step="annee",
        metric="personnes",
        themes=by_theme["theme"].to_list(),
        lieux=["*"],
        categories=["*"],
    ).filter(pl.col("year") == YEAR)
    # The largest theme whose total is published (disclosure control may withhold the largest).
    published = every_theme.filter(~pl.col("suppressed"))["theme"].to_list()
    theme = by_theme.filter(pl.col("theme").is_in(published)).row(-1)
    frame = data.run(
        "trends", step="annee", metric="personnes", themes=[theme[0]], lieux=["*"], categories=["*"]
    )
    assert frame.filter(pl.col("year") == YEAR)["value"].item() == theme[1]

    by_category = (
        rows.join(members, on="member_code")
        .explode("categories")
        .group_by("categories")
        .agg(pl.col("personnes").sum())
    )
    categories = by_category["categories"].to_list()
    frame = data.run(
        "trends", step="annee", metric="personnes", themes=["*"], lieux=["*"], categories=categories
    ).filter(pl.col("year") == YEAR)
    shown = dict(frame.select("category", "value").iter_rows())
    assert shown == dict(by_category.iter_rows())


def test_trends_by_quarter_only_holds_sub_annual_members(demo_env, raw):
    rows = kept_activity(raw).filter(
        (pl.col("year") == YEAR) & pl.col("granularity").is_in(["trimestre", "mois"])
    )
    quarter = pl.coalesce("quarter", ((pl.col("month") + 2) // 3)).alias("q")
    expected = dict(rows.group_by(quarter).agg(pl.col("personnes").sum()).iter_rows())
    frame = data.run(
        "trends", step="trimestre", metric="personnes", themes=["*"], lieux=["*"], categories=["*"]
    ).filter(pl.col("year") == YEAR)
    assert dict(frame.select("quarter", "value").iter_rows()) == expected
    assert frame["quarter_start"].to_list() == [dt.date(YEAR, m, 1) for m in (1, 4, 7, 10)]


def test_trends_by_quarter_compares_with_the_same_quarter_a_year_before(demo_env, raw):
    rows = kept_activity(raw).filter(pl.col("granularity").is_in(["trimestre", "mois"]))
    quarter = pl.coalesce("quarter", ((pl.col("month") + 2) // 3)).alias("q")
    sums = rows.group_by("year", quarter).agg(pl.col("personnes").sum())
    persons = {(year, q): n for year, q, n in sums.iter_rows()}
    frame = data.run(
        "trends",
        step="trimestre",
        metric="personnes",
        themes=["*"],
        lieux=["*"],
        categories=["*"],
    ).filter(pl.col("year") == YEAR)
    assert frame.height == 4
    for row in frame.to_dicts():
        before = persons[(YEAR - 1, row["quarter"])]
        assert row["previous_value"] == before
        assert row["change_pct"] == pytest.approx(
            100 * (persons[(YEAR, row["quarter"])] - before) / before
        )


def test_trends_by_year_has_no_quarter(demo_env):
    frame = data.run(
        "trends", step="annee", metric="personnes", themes=["*"], lieux=["*"], categories=["*"]
    )
    assert frame.height and frame["quarter"].is_null().all()
    assert frame["quarter_start"].is_null().all()
    assert frame["year"].is_unique().all()


def test_trends_steps_are_the_cube_period_kinds():
    """The query's $step takes exactly the period kinds the cubes are published by."""
    sql = (QUERIES_DIR / "trends.sql").read_text(encoding="utf-8")
    assert set(re.findall(r"\$step = '(\w+)'", sql)) == set(CUBE_PERIOD_KINDS)


def test_suppressed_cells_carry_no_value(demo_env):
    """Disclosure control (DESIGN §6): whatever is flagged arrives without its value."""
    frame = data.run(
        "trends",
        step="annee",
        metric="personnes",
        themes=["*"],
        lieux=[str(n) for n in range(6601, 6646)],
        categories=["*"],
    )
    assert frame.filter(pl.col("suppressed") & pl.col("value").is_not_null()).is_empty()
    assert frame.filter(pl.col("value").is_between(1, 4)).is_empty()


def test_overview_theme_trends_sum_to_the_total(demo_env, raw):
    rows = kept_activity(raw)
    expected = dict(
        rows.filter(pl.col("year") == YEAR)
        .group_by("theme")
        .agg(pl.col("personnes").sum())
        .iter_rows()
    )
    frame = data.run("overview_theme_trends").filter(pl.col("year") == YEAR)
    for row in frame.to_dicts():
        if not row["personnes_supprime"]:
            assert row["personnes"] == expected[row["theme"]], row["theme"]
    assert set(frame["theme"]) == set(expected)


def test_overview_completeness_lists_every_member(demo_env, raw):
    frame = data.run("overview_completeness", year=YEAR)
    periods = raw["periods"].select(pl.col("code").alias("period_code"), "year", "granularity")
    sent = raw["submissions"].join(periods, on="period_code").filter(pl.col("year") == YEAR)
    per_member = dict(sent.group_by("member_code").agg(pl.len()).iter_rows())
    expected_periods = {"annee": 1, "trimestre": 4, "mois": 12}
    assert sorted(frame["member_code"]) == sorted(raw["members"]["code"])
    for row in frame.to_dicts():
        assert row["n_periods"] == per_member.get(row["member_code"], 0)
        if row["granularity"] is not None:
            complete = row["n_periods"] == expected_periods[row["granularity"]]
            assert row["status"] == ("complet" if complete else "partiel")
        else:
            assert row["status"] == "manquant"


def test_population_summary_counts_statuses(demo_env, raw):
    frame = data.run("population_reference_summary")
    reference = raw["population"].filter(pl.col("is_reference"))
    for row in frame.to_dicts():
        year = reference.filter(pl.col("year") == row["year"])
        assert row["n_published"] == year.filter(pl.col("status") == "publie").height
        assert row["n_interpolated"] == year.filter(pl.col("status") == "interpole").height
        assert row["n_carried_forward"] == year.filter(pl.col("status") == "reporte").height
        assert row["population"] == year["population"].sum()
        assert row["n_published"] + row["n_interpolated"] + row["n_carried_forward"] == 45


def test_database_status(demo_env):
    info = data.db_info()
    assert info.has_demo
    assert (info.first_year, info.last_year, info.latest_complete_year) == (2019, YEAR, YEAR)
    assert info.years == list(range(2019, YEAR + 1))
    assert info.version and info.smallest_published_count == 5


def test_disclosure_shares_count_the_flags_of_each_crossing(demo_env, demo_db):
    """Méthodologie's table of what disclosure control withholds: recounted here in Polars from
    the public cubes, crossing by crossing."""
    con = open_public_reader(public_path(demo_db))
    try:
        year = con.sql("select * from public.activity_year_cube").pl()
        quarter = con.sql("select * from public.activity_quarter_cube").pl()
    finally:
        con.close()
    commune, every_theme = pl.col("ofs_number").is_not_null(), pl.col("theme") == "*"
    all_members, canton = pl.col("category") == "*", pl.col("lieu") == "GE"
    crossings = {
        "commune_year_total": (year, commune & every_theme & all_members),
        "commune_year_theme": (year, commune & ~every_theme & all_members),
        "commune_quarter_total": (quarter, commune & every_theme & all_members),
        "canton_year_theme": (year, canton & ~every_theme & all_members),
        "canton_year_category": (year, canton & ~all_members),
        "canton_quarter_theme": (quarter, canton & ~every_theme),
    }
    expected = {}
    for name, (cube, where) in crossings.items():
        rows = cube.filter(where)
        expected[name] = (rows.height, int(rows["personnes_supprime"].sum()))
    measures = [c.removesuffix("_supprime") for c in year.columns if c.endswith("_supprime")]
    assert len(measures) == 9
    published = withheld = 0
    for cube in (year, quarter):
        for m in measures:
            flag = pl.col(f"{m}_supprime")
            published += cube.filter(pl.col(m).is_not_null() | flag).height
            withheld += cube.filter(flag).height
    expected["all_numbers"] = (published, withheld)

    frame = data.run("methodology_disclosure_shares")
    got = {row["crossing"]: (row["published"], row["withheld"]) for row in frame.to_dicts()}
    assert got == expected
    assert list(got) == list(expected)  # the table's order: communes first, then the canton
    for row in frame.to_dicts():
        assert row["withheld_share"] == pytest.approx(row["withheld"] / row["published"], abs=5e-4)
    assert 0 < expected["commune_year_total"][1] < expected["commune_year_total"][0]
