"""Population fill: interpolation and carry-forward computed by hand."""

from __future__ import annotations

import polars as pl
import pytest

from etl.steps.population import choose_reference_series, fill_series


def published(rows):
    return pl.DataFrame(
        rows, schema=["ofs_number", "year", "definition", "population"], orient="row"
    )


def test_linear_interpolation_and_carry_forward_on_a_toy_series():
    filled = fill_series(
        published([(1, 2010, "ofs_statpop", 100), (1, 2013, "ofs_statpop", 130)]), last_year=2015
    )
    assert filled["year"].to_list() == [2010, 2011, 2012, 2013, 2014, 2015]
    # 100 + 30 × 1/3, 100 + 30 × 2/3, then the 2013 value carried forward.
    assert filled["population"].to_list() == [100, 110, 120, 130, 130, 130]
    assert filled["status"].to_list() == [
        "publie",
        "interpole",
        "interpole",
        "publie",
        "reporte",
        "reporte",
    ]


def test_definitions_are_filled_separately_and_never_blended():
    frame = published([(1, 2009, "ocstat", 1000), (1, 2015, "ofs_statpop", 2000)])
    filled = fill_series(frame, last_year=2016)
    ocstat = filled.filter(pl.col("definition") == "ocstat")
    # Nothing between 2009 and 2015 is drawn towards the FSO value: OCSTAT is carried forward.
    assert set(ocstat["population"].to_list()) == {1000}
    assert ocstat.filter(pl.col("year") > 2009)["status"].unique().to_list() == ["reporte"]
    reference = choose_reference_series(filled)
    by_year = dict(zip(reference["year"], reference["definition"], strict=True))
    assert by_year[2014] == "ocstat" and by_year[2015] == "ofs_statpop"


def test_thonex_2018_and_2019_interpolated_by_hand(tmp_path):
    from etl import build, db

    path = tmp_path / "p.duckdb"
    build.init_database(path)
    con = db.open_reader(path)
    rows = dict(
        (year, (pop, status))
        for year, pop, status in db.query(
            con,
            "select year, population, status from population "
            "where ofs_number = 6640 and definition = 'ofs_statpop'",
        ).iter_rows()
    )
    # Thônex: 14 091 (2017) and 14 573 (2020) published; 2018 and 2019 missing.
    assert rows[2018] == (round(14091 + (14573 - 14091) / 3), "interpole")  # 14 252
    assert rows[2019] == (round(14091 + 2 * (14573 - 14091) / 3), "interpole")  # 14 412
    assert rows[2021] == ((14573 + 16115) // 2, "interpole")  # 15 344
    assert rows[2023] == (16690, "publie")
    assert rows[2024] == (16690, "reporte")
    # Genève, OCSTAT: 185 958 (2009) and 201 164 (2015, probable OCSTAT) → 2012 halfway.
    geneve_2012 = db.query(
        con,
        "select population, definition, status from population "
        "where ofs_number = 6621 and year = 2012 and is_reference",
    ).row(0)
    assert geneve_2012 == (185958 + (201164 - 185958) // 2, "ocstat", "interpole")
    con.close()


@pytest.mark.parametrize("last_year", [2024, 2030])
def test_series_reach_the_last_year(last_year):
    filled = fill_series(published([(1, 2020, "ofs_statpop", 5)]), last_year=last_year)
    assert filled["year"].max() == last_year
