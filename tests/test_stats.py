"""Methods (etl/analysis/intervals.py, needs_model.py): every expectation is a textbook formula or a
published table value."""

from __future__ import annotations

import math

import polars as pl
import pytest

from etl.analysis import intervals as stats
from etl.analysis import needs_model
from etl.errors import UserError
from etl.paths import DATA_DIR

Z = 1.959963984540054


# --- Poisson limits -----------------------------------------------------------------------------


def test_byar_for_twenty_events_matches_the_textbook_formula():
    lower = 20 * (1 - 1 / (9 * 20) - Z / (3 * math.sqrt(20))) ** 3
    upper = 21 * (1 - 1 / (9 * 21) + Z / (3 * math.sqrt(21))) ** 3
    assert stats.byar_ci(20) == pytest.approx((lower, upper), rel=1e-12)
    assert stats.poisson_ci(20) == pytest.approx((lower, upper), rel=1e-12)
    # and roughly 12.22 – 30.89 as in public-health tables
    assert stats.byar_ci(20) == pytest.approx((12.21, 30.89), abs=0.01)


@pytest.mark.parametrize(
    ("observed", "lower", "upper"),
    [
        # Exact 95 % limits of a Poisson count, as printed in the usual tables
        # (e.g. PHE « Technical Guide: Confidence Intervals », Garwood 1936).
        (0, 0.0, 3.689),
        (1, 0.0253, 5.572),
        (3, 0.619, 8.767),
        (5, 1.624, 11.668),
        (9, 4.115, 17.085),
    ],
)
def test_exact_poisson_limits_match_published_tables(observed, lower, upper):
    got_lower, got_upper = stats.poisson_ci(observed)
    assert got_lower == pytest.approx(lower, abs=6e-4)
    assert got_upper == pytest.approx(upper, abs=6e-4)


def test_exact_limits_of_zero_have_closed_form():
    # P(X = 0) = e^(−μ) = 0.025  ⇒  μ = −ln 0.025
    assert stats.exact_poisson_ci(0) == pytest.approx((0.0, -math.log(0.025)), rel=1e-10)


def test_exact_limits_of_one_have_closed_form():
    # lower: P(X ≥ 1) = 1 − e^(−μ) = 0.025  ⇒  μ = −ln 0.975
    lower, upper = stats.exact_poisson_ci(1)
    assert lower == pytest.approx(-math.log(0.975), rel=1e-9)
    # upper: P(X ≤ 1) = e^(−μ)(1 + μ) = 0.025
    assert math.exp(-upper) * (1 + upper) == pytest.approx(0.025, rel=1e-9)


def test_threshold_switches_from_exact_to_byar_at_ten():
    assert stats.EXACT_POISSON_BELOW == 10
    assert stats.poisson_ci(9) == stats.exact_poisson_ci(9)
    assert stats.poisson_ci(10) == stats.byar_ci(10)
    # Byar is within 0.2 % of the exact limits from 10 on: the switch makes no visible jump.
    for observed in (10, 50, 400):
        exact, byar = stats.exact_poisson_ci(observed), stats.byar_ci(observed)
        assert byar[0] == pytest.approx(exact[0], rel=2e-3)
        assert byar[1] == pytest.approx(exact[1], rel=2e-3)


def test_negative_or_fractional_counts_are_refused():
    with pytest.raises(ValueError):
        stats.poisson_ci(-1)
    with pytest.raises(ValueError):
        stats.poisson_ci(2.5)


# --- Wilson -------------------------------------------------------------------------------------


def test_wilson_for_ten_out_of_a_hundred():
    p, n = 0.1, 100
    centre = p + Z**2 / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    expected = ((centre - half) / (1 + Z**2 / n), (centre + half) / (1 + Z**2 / n))
    assert stats.wilson_ci(10, 100) == pytest.approx(expected, rel=1e-12)
    assert stats.wilson_ci(10, 100) == pytest.approx((0.0552, 0.1744), abs=1e-4)


def test_wilson_of_zero_successes_starts_at_zero():
    lower, upper = stats.wilson_ci(0, 20)
    assert lower == pytest.approx(0.0, abs=1e-15)
    assert upper == pytest.approx(Z**2 / (20 + Z**2), rel=1e-12)  # (z²/n)/(1+z²/n)


def test_wilson_expressions_agree_with_the_scalar():
    frame = pl.DataFrame({"x": [10, 0, 55], "n": [100, 20, 60]})
    lower, upper = stats.wilson_exprs(pl.col("x"), pl.col("n"))
    got = frame.select(lower.alias("lo"), upper.alias("up"))
    for (x, n), (lo, up) in zip(frame.iter_rows(), got.iter_rows(), strict=True):
        assert (lo, up) == pytest.approx(stats.wilson_ci(x, n), rel=1e-12, abs=1e-15)


# --- Rates per 1,000 (vectorised) ---------------------------------------------------------------


def test_rate_per_thousand_with_its_interval():
    # 20 persons in a commune of 4,000: 5 per 1,000, limits Byar(20) / 4
    rate, lower, upper = stats.rate_per_1000(20, 4000)
    assert rate == 5.0
    assert lower == pytest.approx(20 * (1 - 1 / 180 - Z / (3 * math.sqrt(20))) ** 3 / 4)
    assert upper == pytest.approx(21 * (1 - 1 / 189 + Z / (3 * math.sqrt(21))) ** 3 / 4)


def test_vectorised_rates_use_exact_limits_below_ten_and_byar_above():
    frame = pl.DataFrame({"persons": [3, 20, 0, None, 7], "population": [1000, 4000, 500, 800, 0]})
    out = stats.with_rate_ci(frame, "persons", "population")
    rows = out.to_dicts()
    # 3 in 1,000: 3.0 per 1,000, exact table limits 0.619 – 8.767
    assert rows[0]["rate"] == 3.0
    assert rows[0]["rate_lower"] == pytest.approx(0.619, abs=6e-4)
    assert rows[0]["rate_upper"] == pytest.approx(8.767, abs=6e-4)
    # 20 in 4,000: Byar / 4
    assert rows[1]["rate"] == 5.0
    assert rows[1]["rate_upper"] == pytest.approx(30.8899 / 4, abs=1e-4)
    # 0 in 500: 0 per 1,000, upper 3.689 × 2
    assert rows[2]["rate"] == 0.0
    assert rows[2]["rate_upper"] == pytest.approx(-math.log(0.025) * 2, rel=1e-9)
    # suppressed count and zero population: no rate at all
    assert rows[3]["rate"] is None and rows[3]["rate_upper"] is None
    assert rows[4]["rate"] is None and rows[4]["rate_lower"] is None


# --- Comparison with the canton -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lower", "upper", "canton", "expected"),
    [
        (12.0, 18.0, 10.0, stats.HIGHER),
        (5.0, 9.9, 10.0, stats.LOWER),
        (8.0, 12.0, 10.0, stats.SIMILAR),
        (10.0, 12.0, 10.0, stats.SIMILAR),  # touching the canton value is not significant
        (None, None, 10.0, stats.NOT_COMPARED),
    ],
)
def test_comparison_with_the_canton(lower, upper, canton, expected):
    assert stats.compare(lower, upper, canton) == expected
    frame = pl.DataFrame(
        {"lo": [lower], "up": [upper], "ref": [canton]},
        schema={"lo": pl.Float64, "up": pl.Float64, "ref": pl.Float64},
    )
    got = frame.select(stats.compare_expr(pl.col("lo"), pl.col("up"), pl.col("ref")))
    assert got.item() == expected


@pytest.mark.parametrize(
    ("comparison", "polarity", "expected"),
    [
        # a needs indicator (social assistance): higher is worse
        (stats.HIGHER, "haut_defavorable", stats.WORSE),
        (stats.LOWER, "haut_defavorable", stats.BETTER),
        # income: higher is better
        (stats.HIGHER, "haut_favorable", stats.BETTER),
        (stats.LOWER, "haut_favorable", stats.WORSE),
        # foreign share: no judgement, just higher / lower
        (stats.HIGHER, "neutre", stats.HIGHER),
        (stats.LOWER, "neutre", stats.LOWER),
        (stats.SIMILAR, "haut_defavorable", stats.SIMILAR),
        (stats.NOT_COMPARED, "haut_favorable", stats.NOT_COMPARED),
    ],
)
def test_judgement_follows_polarity(comparison, polarity, expected):
    assert stats.judge(comparison, polarity) == expected
    frame = pl.DataFrame({"c": [comparison], "p": [polarity]})
    assert frame.select(stats.judge_expr(pl.col("c"), pl.col("p"))).item() == expected


def test_unknown_polarity_is_refused():
    with pytest.raises(ValueError, match="polarité"):
        stats.judge(stats.HIGHER, "haut")


# --- Gap ratio ----------------------------------------------------------------------------------


def test_gap_ratio_of_twenty_against_forty_expected():
    # 20 observed against 40 expected: Byar limits of 20 are 12.2114 – 30.8899
    ratio, lower, upper = stats.gap_ratio(20, 40.0)
    assert ratio == pytest.approx(0.5)
    assert lower == pytest.approx(12.2114 / 40, abs=1e-5)
    assert upper == pytest.approx(30.8899 / 40, abs=1e-5)


def test_gap_interval_of_a_small_count_is_exact():
    # 9 observed against 10 expected: exact limits 4.115 – 17.085 → 0.41 – 1.71
    _, lower, upper = stats.gap_ratio(9, 10.0)
    assert (lower, upper) == pytest.approx((0.4115, 1.7085), abs=1e-4)
    with pytest.raises(ValueError):
        stats.gap_ratio(3, 0.0)


# --- Needs index --------------------------------------------------------------------------------


def _indicators(rows):
    return pl.DataFrame(
        rows,
        schema={
            "ofs_number": pl.Int32,
            "year": pl.Int32,
            "indicator_code": pl.String,
            "value": pl.Float64,
            "year_inferred": pl.Boolean,
        },
        orient="row",
    )


def _needs_index(mapping, indicators, population, year=2024):
    """The publish-time index for one analysis year (population: ofs_number, population)."""
    mapping = mapping.with_columns(pl.col("direction").cast(pl.Int8))
    population = population.select(
        pl.col("ofs_number").cast(pl.Int32),
        pl.lit(year, dtype=pl.Int32).alias("year"),
        pl.col("population").cast(pl.Float64),
    )
    codes = mapping["indicator_code"].unique().to_list()
    values = needs_model.values_for_years(indicators, codes, [year])
    relative = needs_model.relative_values(mapping, values, population)
    return needs_model.needs_index(relative, mapping, population)


def test_needs_index_is_relative_to_the_population_weighted_canton_mean():
    # two communes, one indicator: A (1,000 residents) 10 %, B (3,000) 2 %
    # canton mean = (10·1000 + 2·3000) / 4000 = 4 %  →  raw A = 2.5, B = 0.5
    # population-weighted mean of raw = (2.5·1000 + 0.5·3000)/4000 = 1 → already 1, no rescale
    mapping = pl.DataFrame(
        {"theme": ["alimentation"], "indicator_code": ["sa"], "weight": [1.0], "direction": [1]}
    )
    indicators = _indicators([(1, 2019, "sa", 10.0, False), (2, 2019, "sa", 2.0, False)])
    population = pl.DataFrame({"ofs_number": [1, 2], "population": [1000, 3000]})
    out = _needs_index(mapping, indicators, population)
    index = {(r["theme"], r["ofs_number"]): r["needs_index"] for r in out.to_dicts()}
    assert index[("alimentation", 1)] == pytest.approx(2.5)
    assert index[("alimentation", 2)] == pytest.approx(0.5)
    # a theme without a mapped indicator has no row: the pages and the publish use 1
    assert set(out["theme"]) == {"alimentation"}


def test_needs_index_weights_directions_and_carry_forward():
    # Theme t: indicator up (weight 3, +1) and down (weight 1, −1: lower value, more need).
    # A: 1,000 residents, up 6 (2023), down 50 (2022);  B: 1,000, up 2 (2023), down 100 (only 2021)
    # up: canton mean 4 → A 1.5, B 0.5;  down: canton mean 75 → A 75/50 = 1.5, B 75/100 = 0.75
    # raw A = (3·1.5 + 1·1.5)/4 = 1.5;  raw B = (3·0.5 + 0.75)/4 = 0.5625
    # rescale by the mean (1.5 + 0.5625)/2 = 1.03125 → A 1.454545…, B 0.545454…
    mapping = pl.DataFrame(
        {
            "theme": ["t", "t"],
            "indicator_code": ["up", "down"],
            "weight": [3.0, 1.0],
            "direction": [1, -1],
        }
    )
    indicators = _indicators(
        [
            (1, 2021, "up", 99.0, False),  # superseded by 2023
            (1, 2023, "up", 6.0, False),
            (2, 2023, "up", 2.0, False),
            (1, 2022, "down", 50.0, True),
            (2, 2021, "down", 100.0, False),
        ]
    )
    population = pl.DataFrame({"ofs_number": [1, 2], "population": [1000, 1000]})
    out = _needs_index(mapping, indicators, population, year=2023).sort("ofs_number")
    a, b = out.to_dicts()
    assert a["needs_index"] == pytest.approx(1.5 / 1.03125)
    assert b["needs_index"] == pytest.approx(0.5625 / 1.03125)
    assert a["any_inferred"] is True and b["any_inferred"] is False
    # analysis year 2023: A's "down" value (2022) and B's (2021) are carried from earlier years
    assert b["any_carried"] is True and a["any_carried"] is True
    assert a["indicators_used"] == 2 and a["indicators_missing"] == 0


def test_commune_lacking_an_indicator_uses_the_others_or_gets_one():
    # C has no value (suppressed small commune): it counts as 1 before the rescale.
    # A 1,000 at 6, B 1,000 at 2: canton mean 4 → raw A 1.5, B 0.5, C 1.0 (pop 2,000)
    # weighted mean = (1.5·1000 + 0.5·1000 + 1·2000)/4000 = 1.0 → unchanged
    mapping = pl.DataFrame(
        {"theme": ["t"], "indicator_code": ["up"], "weight": [1.0], "direction": [1]}
    )
    indicators = _indicators([(1, 2023, "up", 6.0, False), (2, 2023, "up", 2.0, False)])
    population = pl.DataFrame({"ofs_number": [1, 2, 3], "population": [1000, 1000, 2000]})
    out = _needs_index(mapping, indicators, population).sort("ofs_number")
    assert out["needs_index"].to_list() == pytest.approx([1.5, 0.5, 1.0])
    assert out["indicators_missing"].to_list() == [0, 0, 1]


def test_expected_counts_add_up_to_the_canton_total():
    # Because the index averages 1 over residents, Σ expected = canton rate × Σ population / 1000.
    mapping = pl.DataFrame(
        {"theme": ["t"], "indicator_code": ["up"], "weight": [1.0], "direction": [1]}
    )
    indicators = _indicators([(i, 2020, "up", float(i), False) for i in range(1, 6)])
    population = pl.DataFrame(
        {"ofs_number": [1, 2, 3, 4, 5], "population": [100, 200, 300, 400, 500]}
    )
    index = _needs_index(mapping, indicators, population)
    frame = population.join(index.drop("year"), on="ofs_number")
    expected = frame["population"] / 1000 * 10.0 * frame["needs_index"]
    assert expected.sum() == pytest.approx(10.0 * 1500 / 1000)


def _read_mapping(text: str) -> pl.DataFrame:
    themes = set(pl.read_csv(DATA_DIR / "themes.csv")["code"])
    codes = set(pl.read_csv(DATA_DIR / "indicator_definitions.csv")["code"])
    return needs_model.parse_mapping(text, "data/needs_mapping.csv", themes, codes)


def test_needs_mapping_file_is_valid_and_uses_known_codes():
    mapping = _read_mapping((DATA_DIR / "needs_mapping.csv").read_text(encoding="utf-8"))
    food = mapping.filter(pl.col("theme") == "alimentation")["indicator_code"].to_list()
    assert sorted(food) == ["social_assistance_rate_pct", "taxpayers_taxable_income_le_30k_pct"]
    assert set(mapping["direction"].to_list()) == {1, -1}


@pytest.mark.parametrize(
    "line, message",
    [
        ("migration,foreign_share_pct,1,haut", r"ligne 3, colonne direction.*haut"),
        ("migration,x,1,+1", r"ligne 3, colonne indicator_code.*« x »"),
        ("inconnu,foreign_share_pct,1,+1", r"ligne 3, colonne theme.*« inconnu »"),
        ("migration,foreign_share_pct,0,+1", r"ligne 3, colonne weight.*positif"),
        ("seniors,age_65plus_pct,2,+1", r"ligne 3 : l'indicateur « age_65plus_pct » est déjà"),
    ],
)
def test_bad_mapping_line_names_file_line_column_and_value(line, message):
    text = f"theme,indicator_code,weight,direction\nseniors,age_65plus_pct,1,+1\n{line}\n"
    with pytest.raises(UserError, match=r"needs_mapping\.csv, " + message):
        _read_mapping(text)
