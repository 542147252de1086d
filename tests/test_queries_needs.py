"""The needs, coverage and brief queries (queries/*.sql) against figures computed in the test.

The database is tests/needs_data.py: real reference data plus a few activity rows whose sums are
known. Expected values are computed here by hand or by direct queries on the raw tables.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
import streamlit as st
from needs_data import (
    ALIMENTATION_CANTON,
    ANIERES,
    CAROUGE,
    GENEVE,
    LANCY,
    ONEX,
    THONEX,
    YEAR,
    build_needs_db,
)

from dashboard import data
from dashboard.components import needs
from etl import db
from etl.analysis import intervals as stats


@pytest.fixture(scope="module")
def needs_db(tmp_path_factory):
    return build_needs_db(tmp_path_factory.mktemp("needs") / "observatoire.duckdb")


@pytest.fixture(autouse=True)
def use_needs_db(needs_db, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_DB", str(needs_db))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.fixture(scope="module")
def raw(needs_db):
    """The raw database (what the public pages never see), for the expected values."""
    con = db.open_reader(needs_db)
    yield lambda sql, params=None: db.query(con, sql, params)
    con.close()


def population(raw, ofs: int, year: int = YEAR) -> int:
    return raw(
        "select population from population where ofs_number = ? and year = ? and is_reference",
        [ofs, year],
    ).item()


def test_commune_theme_counts_and_canton(raw):
    frame = data.run("needs_commune_theme", theme="alimentation", year=YEAR)
    assert frame.height == 45
    rows = {row["ofs_number"]: row for row in frame.to_dicts()}
    assert rows[CAROUGE]["persons"] == 20 + 10
    assert rows[CAROUGE]["unmet_requests"] == 6
    assert rows[GENEVE]["persons"] == 400
    # 3 in Onex is suppressed, and Anières' 5 with it (complementary suppression)
    assert rows[ONEX]["persons"] is None and rows[ONEX]["persons_suppressed"]
    assert rows[ANIERES]["persons"] is None and rows[ANIERES]["persons_suppressed"]
    # nobody reported in Lancy: 0 persons, not unknown
    assert rows[LANCY]["persons"] == 0 and not rows[LANCY]["has_activity"]
    assert not rows[LANCY]["persons_suppressed"]
    # the canton: the 45 communes only (hors canton excluded), from the raw rows
    canton = raw(
        "select cast(sum(personnes) as bigint) from activity where theme = 'alimentation' and year = ? "
        "and ofs_number is not null",
        [YEAR],
    ).item()
    assert canton == ALIMENTATION_CANTON
    assert rows[CAROUGE]["canton_persons"] == ALIMENTATION_CANTON
    canton_population = raw(
        "select cast(sum(population) as bigint) from population where year = ? and is_reference",
        [YEAR],
    ).item()
    assert rows[CAROUGE]["canton_population"] == canton_population
    assert rows[CAROUGE]["population"] == population(raw, CAROUGE)
    # Thônex has no published 2024 population: carried forward, so flagged
    assert rows[THONEX]["population_status"] == "reporte"


def test_rate_of_one_commune_matches_a_direct_raw_computation(raw):
    persons = raw(
        "select cast(sum(personnes) as bigint) from activity where ofs_number = ? and theme = 'alimentation' "
        "and year = ?",
        [CAROUGE, YEAR],
    ).item()
    expected_rate = persons / population(raw, CAROUGE) * 1000
    gaps = needs.load_commune_gaps("alimentation", YEAR)
    carouge = gaps.filter(pl.col("ofs_number") == CAROUGE).row(0, named=True)
    assert carouge["rate"] == pytest.approx(expected_rate)
    # 30 persons: Byar's limits over the population
    lower = 30 * (1 - 1 / 270 - stats.Z / (3 * math.sqrt(30))) ** 3
    assert carouge["rate_lower"] == pytest.approx(lower / population(raw, CAROUGE) * 1000)


def test_gap_uses_canton_rate_and_needs_index(raw):
    gaps = needs.load_commune_gaps("alimentation", YEAR)
    carouge = gaps.filter(pl.col("ofs_number") == CAROUGE).row(0, named=True)
    canton_population = raw(
        "select cast(sum(population) as bigint) from population where year = ? and is_reference",
        [YEAR],
    ).item()
    canton_rate = ALIMENTATION_CANTON / canton_population * 1000
    assert carouge["canton_rate"] == pytest.approx(canton_rate)
    expected = population(raw, CAROUGE) / 1000 * canton_rate * carouge["needs_index"]
    assert carouge["expected"] == pytest.approx(expected)
    assert carouge["gap_ratio"] == pytest.approx(30 / expected)
    # alimentation is mapped to indicators: the index is not the neutral 1 for Carouge
    assert carouge["needs_index"] != pytest.approx(1.0)
    # the index averages 1 over the canton's residents
    weighted = (gaps["needs_index"] * gaps["population"]).sum() / gaps["population"].sum()
    assert weighted == pytest.approx(1.0)
    # suppressed counts give no ratio and no verdict
    onex = gaps.filter(pl.col("ofs_number") == ONEX).row(0, named=True)
    assert onex["gap_ratio"] is None and onex["rate"] is None and not onex["under_served"]
    # Lancy: 0 persons where many are expected; the Poisson interval of 0 is [0, −ln 0.025]
    lancy = gaps.filter(pl.col("ofs_number") == LANCY).row(0, named=True)
    assert lancy["gap_upper"] == pytest.approx(-math.log(0.025) / lancy["expected"])
    # flags come from the adjusted funnel limits, not from the Poisson interval
    for row in gaps.filter(pl.col("gap_ratio").is_not_null()).to_dicts():
        below = row["gap_ratio"] < row["gap_limit_95_lower"]
        assert row["under_served"] == below, row["name"]


def test_all_themes_use_a_neutral_needs_index():
    gaps = needs.load_commune_gaps("*", YEAR)
    assert gaps["needs_index"].to_list() == [1.0] * 45
    assert gaps.filter(pl.col("ofs_number") == GENEVE)["persons"].item() == 450


def test_indicators_query_returns_the_raw_values(raw):
    indicators = data.run("needs_indicators")
    expected = raw(
        "select value from indicators where ofs_number = ? and year = 2019 "
        "and indicator_code = 'social_assistance_rate_pct'",
        [CAROUGE],
    ).item()
    got = indicators.filter(
        (pl.col("ofs_number") == CAROUGE)
        & (pl.col("year") == 2019)
        & (pl.col("indicator_code") == "social_assistance_rate_pct")
    )
    assert got["value"].item() == expected
    assert got["polarity"].item() == "haut_defavorable"


def test_boundaries_hold_45_communes_and_the_lake():
    shapes = data.run("map_boundaries")
    assert shapes.filter(pl.col("kind") == "commune").height == 45
    assert shapes.filter(pl.col("kind") == "lac").height == 1


def test_coverage_states_and_white_zones():
    coverage = data.run("coverage_theme_commune", year=YEAR)
    assert coverage.height == 18 * 45
    cell = {(row["theme"], row["ofs_number"]): row for row in coverage.to_dicts()}
    # the grocery is in Carouge and names Carouge and Onex: local service for both
    assert cell[("alimentation", CAROUGE)]["services_located"] == 1
    assert cell[("alimentation", ONEX)]["services_local"] == 1
    assert cell[("alimentation", ONEX)]["services_located"] == 0
    assert cell[("alimentation", ONEX)]["coverage_state"] == "local"
    # no food-aid service anywhere else, none canton-wide: Lancy has none (a white zone)
    assert cell[("alimentation", LANCY)]["coverage_state"] == "aucun"
    assert cell[("alimentation", LANCY)]["white_zone"]
    # the night shelter is in Genève and serves the whole canton: local in Genève only
    assert cell[("hebergement", GENEVE)]["coverage_state"] == "local"
    for ofs in (LANCY, ONEX):
        assert cell[("hebergement", ofs)]["coverage_state"] == "canton"
        assert cell[("hebergement", ofs)]["services_canton_wide"] == 1
        assert cell[("hebergement", ofs)]["white_zone"]
    # nobody works on housing: 45 white zones with no service at all
    assert {cell[("logement", ofs)]["coverage_state"] for ofs in range(6601, 6646)} == {"aucun"}


def test_members_per_theme():
    members = {
        row["theme"]: row for row in data.run("coverage_members_theme", year=YEAR).to_dicts()
    }
    assert members["alimentation"]["members_declared"] == 2
    assert members["alimentation"]["members_reporting"] == 2
    assert members["alimentation"]["persons"] == ALIMENTATION_CANTON
    assert members["hebergement"]["members_declared"] == 1
    assert members["hebergement"]["members_reporting"] == 0
    assert members["hebergement"]["communes_with_service"] == 1  # local: Genève
    assert members["hebergement"]["communes_canton_only"] == 44
    assert members["logement"]["members_declared"] == 0


def test_commune_trends_against_the_canton():
    trends = data.run("fiche_trends", ofs=CAROUGE)
    every = trends.filter((pl.col("theme") == "*") & (pl.col("year") == YEAR)).row(0, named=True)
    assert every["persons"] == 30  # 30 for food aid, 0 for seniors
    assert every["canton_persons"] == ALIMENTATION_CANTON + 50
    seniors = trends.filter(pl.col("theme") == "seniors").row(0, named=True)
    assert seniors["persons"] == 0 and seniors["has_activity"]


def test_commune_brief_gathers_services_and_themes():
    brief = needs.load_commune_brief(ONEX, YEAR)
    assert brief.name == "Onex"
    assert sorted(brief.services["nom"].to_list()) == ["Accueil de nuit", "Épicerie solidaire"]
    food = brief.themes.filter(pl.col("theme") == "alimentation").row(0, named=True)
    assert food["persons_suppressed"] and food["rate"] is None
    # 14 indicators, each at its latest year, Onex's social assistance against the canton
    assert brief.indicators.height == brief.indicators["indicator_code"].n_unique() == 14
