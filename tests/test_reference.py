"""Reference data: communes, aliases, population totals, boundaries (expectations written by hand)."""

from __future__ import annotations

import csv
import json

import polars as pl
import pytest
import shapely.geometry

from etl import build, db
from etl.paths import RAW_REFERENCE_DIR, REFERENCE_DIR
from etl.text import normalise_key


@pytest.fixture(scope="module")
def ref_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.duckdb"
    build.init_database(path)
    con = db.open_reader(path)
    yield con
    con.close()


def scalar(con, sql, params=None):
    return db.query(con, sql, params).item()


def db_list(con, sql):
    return db.query(con, sql).to_series().to_list()


def db_list_pairs(con, sql="select alias_key, ofs_number from commune_aliases"):
    return db.query(con, sql).iter_rows()


def test_45_communes_numbered_6601_to_6645(ref_db):
    numbers = db_list(ref_db, "select ofs_number from communes order by 1")
    assert numbers == list(range(6601, 6646))


def test_every_alias_of_the_raw_compilation_resolves_to_its_commune(ref_db):
    lookup = dict(db_list_pairs(ref_db))
    with open(RAW_REFERENCE_DIR / "communes.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for spelling in [row["name"], *filter(None, row["aliases"].split("|"))]:
                assert lookup[normalise_key(spelling)] == int(row["ofs_number"]), spelling


@pytest.mark.parametrize(
    ("spelling", "ofs"),
    [
        ("Ville de Genève", 6621),
        ("GENEVE", 6621),
        ("Carouge (GE)", 6608),
        ("Chene-Bougeries", 6612),
        ("chêne bougeries ", 6612),
        ("Vandoeuvres", 6642),
        ("Vandœuvres", 6642),
        ("Le Grand Saconnex", 6623),
        ("Grand-Saconnex", 6623),
        ("Plan les Ouates", 6633),
    ],
)
def test_messy_spellings_seen_in_real_files(ref_db, spelling, ofs):
    assert dict(db_list_pairs(ref_db))[normalise_key(spelling)] == ofs


def test_published_populations_add_up_to_the_canton_totals(ref_db):
    # canton_totals.csv: OCSTAT 2009 total from the list, FSO sums for 2015–2017.
    expected = {
        ("ocstat", 2009): 453_292,
        ("ofs_statpop", 2015): 484_736,
        ("ofs_statpop", 2016): 489_524,
        ("ofs_statpop", 2017): 495_249,
    }
    for (definition, year), total in expected.items():
        got = scalar(
            ref_db,
            "select sum(population) from population where definition = ? and "
            "year = ? and status = 'publie'",
            [definition, year],
        )
        assert got == total, (definition, year)


def test_canton_totals_file_agrees_with_the_commune_sums(ref_db):
    text = (RAW_REFERENCE_DIR / "canton_totals.csv").read_text(encoding="utf-8")
    totals = {
        (row["indicator_code"], int(row["year"])): float(row["value"])
        for row in csv.DictReader(text.splitlines())
    }
    assert totals[("population_total", 2009)] == 453_292
    for year in (2015, 2016, 2017):
        got = scalar(
            ref_db,
            "select sum(population) from population where definition = 'ofs_statpop' and year = ?",
            [year],
        )
        assert got == totals[("population_total_fso", year)]


def test_2022_with_three_interpolated_communes_is_close_to_the_fso_total(ref_db):
    # 42 published communes sum to 510 314; Presinge, Puplinge and Russin (≈ 3 800) are interpolated.
    got = scalar(
        ref_db, "select sum(population) from population where is_reference and year = 2022"
    )
    assert abs(got - 514_114) / 514_114 < 0.002
    estimated = scalar(
        ref_db,
        "select count(*) from population where is_reference and year = 2022 "
        "and status = 'interpole'",
    )
    assert estimated == 3


def test_one_reference_value_per_commune_and_year_from_2009(ref_db):
    rows = db_list(
        ref_db,
        "select count(*) from population where is_reference "
        "group by ofs_number, year having count(*) <> 1",
    )
    assert rows == []
    first = scalar(ref_db, "select min(year) from population where is_reference")
    per_year = db_list(ref_db, "select count(*) from population where is_reference group by year")
    assert first == 2009 and set(per_year) == {45}


def test_reference_series_switches_definition_in_2015_and_says_so(ref_db):
    definitions = dict(
        db_list_pairs(
            ref_db,
            "select year, definition from population where is_reference and ofs_number = 6621",
        )
    )
    assert all(definitions[y] == "ocstat" for y in range(2009, 2015))
    assert all(definitions[y] == "ofs_statpop" for y in range(2015, 2025))


def test_boundaries_45_valid_communes_and_the_lake():
    communes = json.loads((REFERENCE_DIR / "communes.geojson").read_text(encoding="utf-8"))
    numbers = sorted(f["properties"]["ofs_number"] for f in communes["features"])
    assert numbers == list(range(6601, 6646))
    for feature in communes["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.is_valid and not shape.is_empty, feature["properties"]["name"]
        # EPSG:4326 around Geneva: 5.9–6.4 °E, 46.1–46.4 °N.
        minx, miny, maxx, maxy = shape.bounds
        assert 5.9 < minx < maxx < 6.4 and 46.1 < miny < maxy < 46.4
    celigny = next(f for f in communes["features"] if f["properties"]["ofs_number"] == 6610)
    assert celigny["geometry"]["type"] == "MultiPolygon"  # two enclaves in Vaud
    lake = json.loads((REFERENCE_DIR / "lake.geojson").read_text(encoding="utf-8"))
    assert len(lake["features"]) == 1
    assert shapely.geometry.shape(lake["features"][0]["geometry"]).is_valid


def test_boundaries_in_the_database(ref_db):
    assert scalar(ref_db, "select count(*) from boundaries where kind = 'commune'") == 45
    assert scalar(ref_db, "select count(*) from boundaries where kind = 'lac'") == 1


def test_normalised_copy_matches_the_raw_compilation(tmp_path):
    from etl.steps import normalise_reference

    normalise_reference.run(target_dir=tmp_path)
    for name in ["communes", "commune_aliases", "population_published", "indicators"]:
        fresh = pl.read_csv(tmp_path / f"{name}.csv")
        committed = pl.read_csv(REFERENCE_DIR / f"{name}.csv")
        assert fresh.equals(committed), f"data/reference/{name}.csv is stale: rerun the step"


def test_every_reference_file_is_named_in_sources():
    sources = (REFERENCE_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for path in REFERENCE_DIR.iterdir():
        if path.name != "SOURCES.md":
            assert path.name in sources, path.name


def test_themes_and_indicator_definitions(ref_db):
    assert scalar(ref_db, "select count(*) from themes") == 18
    assert scalar(ref_db, "select label_en from themes where code = 'alimentation'") == "Food aid"
    codes_used = set(db_list(ref_db, "select distinct indicator_code from indicators"))
    codes_defined = set(db_list(ref_db, "select code from indicator_definitions"))
    assert codes_used <= codes_defined
