"""Gap analysis at publish (etl/analysis): funnel limits, overdispersion, needs model, neighbours,
coverage states. Expectations are worked by hand in each test (or, for the Poisson fit, by
statsmodels), never copied from the code's output."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from etl.analysis import coverage, funnel, needs_model, neighbours

# --- funnel limits (Spiegelhalter 2005, appendix A.1.1) ---------------------------------------------


def poisson_cdf(k: int, mean: float) -> float:
    return sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k + 1))


def test_poisson_funnel_limits_for_four_expected():
    # E = 4. Upper 97.5 %: F(7) = 0.948866 < 0.975 ≤ F(8) = 0.978637, so y = 8 and
    # α = (0.978637 − 0.975) / (0.978637 − 0.948866) = 0.12217: limit (8 − 0.12217) / 4 = 1.9695.
    # Lower 2.5 %: F(0) = 0.018316 < 0.025 ≤ F(1) = 0.091578, y = 1,
    # α = (0.091578 − 0.025) / (0.091578 − 0.018316) = 0.90877: limit (1 − 0.90877) / 4 = 0.02281.
    assert poisson_cdf(8, 4) == pytest.approx(0.978637, abs=1e-6)
    assert poisson_cdf(7, 4) == pytest.approx(0.948866, abs=1e-6)
    alpha_up = (poisson_cdf(8, 4) - 0.975) / (poisson_cdf(8, 4) - poisson_cdf(7, 4))
    alpha_low = (poisson_cdf(1, 4) - 0.025) / (poisson_cdf(1, 4) - poisson_cdf(0, 4))
    lower, upper = funnel.poisson_limits(4.0, 0.95)
    assert float(upper) == pytest.approx((8 - alpha_up) / 4, rel=1e-9)
    assert float(upper) == pytest.approx(1.9695, abs=1e-4)
    assert float(lower) == pytest.approx((1 - alpha_low) / 4, rel=1e-9)
    assert float(lower) == pytest.approx(0.02281, abs=1e-5)


def test_99_8_limits_are_wider_and_narrow_as_expected_grows():
    expected = np.array([4.0, 40.0, 400.0])
    low_95, high_95 = funnel.poisson_limits(expected, 0.95)
    low_998, high_998 = funnel.poisson_limits(expected, 0.998)
    assert (low_998 < low_95).all() and (high_998 > high_95).all()
    assert (np.diff(high_95) < 0).all() and (np.diff(low_95) > 0).all()


# --- overdispersion (§6: winsorised z-scores, φ, DerSimonian–Laird τ²) ------------------------------

# Eleven made-up z-scores: with numpy's linear percentiles, the 10th and 90th fall exactly on the
# 2nd and 10th order statistics (positions 0.1 × 10 = 1 and 0.9 × 10 = 9), −2 and 2.
Z_SCORES = np.array([-4, -2, -1, -0.5, 0, 0, 0.5, 1, 1.5, 2, 5], dtype=float)
# Expected counts 1², 2², … 11²: weights w = 4E, Σw = 4 × 506 = 2024, Σw² = 16 × Σk⁴ = 16 × 39 974.
EXPECTED = np.array([k * k for k in range(1, 12)], dtype=float)


def test_winsorising_and_the_overdispersion_factor():
    winsorised = funnel.winsorise(Z_SCORES)
    assert winsorised.tolist() == [-2, -2, -1, -0.5, 0, 0, 0.5, 1, 1.5, 2, 2]
    # squares 4 + 4 + 1 + 0.25 + 0 + 0 + 0.25 + 1 + 2.25 + 4 + 4 = 20.75 over 11
    assert funnel.overdispersion_factor(Z_SCORES) == pytest.approx(20.75 / 11)


def test_random_effect_variance_from_phi():
    phi = 20.75 / 11
    # (n φ − (n − 1)) / (Σw − Σw²/Σw) = (20.75 − 10) / (2024 − 639 584 / 2024) = 10.75 / 1708
    assert funnel.random_effect_variance(phi, EXPECTED) == pytest.approx(10.75 / 1708)
    # no overdispersion (n φ ≤ n − 1): no random effect
    assert funnel.random_effect_variance(0.9, EXPECTED) == 0.0


def test_z_scores_on_the_square_root_scale():
    # O = 36, E = 25: 2(√36 − √25) = 2
    assert funnel.z_scores(np.array([36.0]), np.array([25.0]))[0] == pytest.approx(2.0)


def test_adjusted_limits_for_a_worked_example():
    tau2 = 10.75 / 1708
    # E = 25, 95 %: 1.959964 × √(1/100 + τ²) = 0.250186 → (1 ∓ 0.250186)² = 0.562221, 1.562965
    lower, upper = funnel.adjusted_limits(25.0, 0.95, tau2)
    spread = 1.959963984540054 * math.sqrt(0.01 + tau2)
    assert float(lower) == pytest.approx((1 - spread) ** 2)
    assert float(upper) == pytest.approx((1 + spread) ** 2)
    assert float(lower) == pytest.approx(0.5622, abs=1e-4)
    # wider than the Poisson limits of E = 25
    poisson_lower, poisson_upper = funnel.poisson_limits(25.0, 0.95)
    assert lower < poisson_lower and upper > poisson_upper
    # a spread above 1 floors the lower limit at 0
    assert float(funnel.adjusted_limits(0.5, 0.998, 0.5)[0]) == 0.0


def test_flags_against_the_adjusted_limits():
    limits = {0.95: (0.7, 1.4), 0.998: (0.5, 1.8)}
    assert funnel.flag(0.4, limits) == funnel.BELOW_998
    assert funnel.flag(0.6, limits) == funnel.BELOW_95
    assert funnel.flag(1.0, limits) == funnel.WITHIN
    assert funnel.flag(1.5, limits) == funnel.ABOVE_95
    assert funnel.flag(2.0, limits) == funnel.ABOVE_998
    assert funnel.flag(None, limits) == funnel.NOT_ASSESSED


def test_too_few_communes_or_withheld_counts_give_no_estimate():
    observed = np.array([10, np.nan, 30, 4, 8, 9, 12, 15, 20], dtype=float)
    estimate = funnel.estimate(observed, np.full(9, 10.0))
    assert estimate.n_communes == 8 and not estimate.assessed  # the withheld count is left out


# --- the needs model ---------------------------------------------------------------------------------


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


def test_each_year_takes_the_latest_value_at_or_before_it():
    indicators = _indicators(
        [(1, 2016, "x", 5.0, False), (1, 2018, "x", 7.0, False), (2, 2020, "x", 9.0, True)]
    )
    got = needs_model.values_for_years(indicators, ["x"], [2015, 2017, 2018, 2019])
    rows = {(r["ofs_number"], r["year"]): r for r in got.to_dicts()}
    # commune 1: 2015 has nothing before → the first value (2016), flagged later
    assert (rows[1, 2015]["value"], rows[1, 2015]["value_year"]) == (5.0, 2016)
    assert rows[1, 2015]["later"] and not rows[1, 2015]["carried"]
    # 2017 → 2016 carried; 2018 → its own year; 2019 → 2018 carried
    assert (rows[1, 2017]["value_year"], rows[1, 2017]["carried"]) == (2016, True)
    assert (rows[1, 2018]["value_year"], rows[1, 2018]["carried"]) == (2018, False)
    assert not rows[1, 2018]["later"]
    assert (rows[1, 2019]["value"], rows[1, 2019]["carried"]) == (7.0, True)
    # commune 2 is only known in 2020: every analysis year uses it, flagged later, inferred kept
    assert {rows[2, y]["value_year"] for y in (2015, 2017, 2018, 2019)} == {2020}
    assert rows[2, 2019]["later"] and rows[2, 2019]["year_inferred"]


def test_zero_and_infinite_ratios_are_bounded_never_dropped():
    # Two communes of equal size, indicators "up" (+1) and "down" (−1), both 0 in A and 2 in B:
    # canton means 1. up: A 0/1 = 0 → floor ¼, B 2. down: A 1/0 = ∞ → cap 4, B 1/2.
    # raw A = (¼ + 4)/2 = 2.125, B = (2 + ½)/2 = 1.25; mean 1.6875 → A 1.259259, B 0.740741.
    mapping = pl.DataFrame(
        {"theme": ["t", "t"], "indicator_code": ["up", "down"], "weight": [1.0, 1.0]}
    ).with_columns(pl.Series("direction", [1, -1], dtype=pl.Int8))
    indicators = _indicators(
        [(1, 2024, "up", 0.0, False), (2, 2024, "up", 2.0, False)]
        + [(1, 2024, "down", 0.0, False), (2, 2024, "down", 2.0, False)]
    )
    population = pl.DataFrame(
        {"ofs_number": [1, 2], "year": [2024, 2024], "population": [500.0, 500.0]},
        schema={"ofs_number": pl.Int32, "year": pl.Int32, "population": pl.Float64},
    )
    values = needs_model.values_for_years(indicators, ["up", "down"], [2024])
    relative = needs_model.relative_values(mapping, values, population)
    cell = {(r["indicator_code"], r["ofs_number"]): r for r in relative.to_dicts()}
    assert cell["up", 1]["relative"] == 0.25 and cell["up", 1]["bounded"]
    assert cell["down", 1]["relative"] == 4.0 and cell["down", 1]["bounded"]
    assert cell["up", 2]["relative"] == 2.0 and not cell["up", 2]["bounded"]
    assert cell["down", 2]["relative"] == 0.5
    index = needs_model.needs_index(relative, mapping, population).sort("ofs_number")
    assert index["needs_index"].to_list() == pytest.approx([2.125 / 1.6875, 1.25 / 1.6875])
    assert index["indicators_used"].to_list() == [2, 2]  # nothing dropped
    assert index["any_bounded"].to_list() == [True, False]


def test_poisson_fit_of_the_index_matches_statsmodels():
    observed = np.array([3, 8, 15, 2, 30, 12, 0, 22], dtype=float)
    population = np.array([1000, 2000, 3000, 800, 5000, 2500, 600, 4000], dtype=float)
    index = np.array([0.8, 1.1, 1.3, 0.6, 1.4, 1.0, 0.7, 1.2])
    fit = needs_model.index_fit(observed, population, index)
    offset = np.log(population)
    design = sm.add_constant(np.log(index))
    with_index = sm.GLM(observed, design, family=sm.families.Poisson(), offset=offset).fit()
    quasi = sm.GLM(observed, design, family=sm.families.Poisson(), offset=offset).fit(scale="X2")
    ones = np.ones((observed.size, 1))
    null = sm.GLM(observed, ones, family=sm.families.Poisson(), offset=offset).fit()
    fixed = sm.GLM(
        observed, ones, family=sm.families.Poisson(), offset=offset + np.log(index)
    ).fit()
    assert fit["slope"] == pytest.approx(with_index.params[1], rel=1e-6)
    assert fit["deviance_index"] == pytest.approx(with_index.deviance, rel=1e-6)
    assert fit["deviance_null"] == pytest.approx(null.deviance, rel=1e-6)
    assert fit["deviance_explained"] == pytest.approx(1 - with_index.deviance / null.deviance)
    assert fit["deviance_explained_fixed"] == pytest.approx(1 - fixed.deviance / null.deviance)
    assert fit["slope_se"] == pytest.approx(quasi.bse[1], rel=1e-6)


# --- statistical neighbours -------------------------------------------------------------------------


def test_nearest_neighbours_of_hand_built_communes():
    # x = 1, 2, 3, 10, 1, 9, 2 (mean 4, sd √(88/6)); log10 population 3, 3, 4, 5, 4, 5, 4
    # (mean 4, sd √(4/6)). From commune 1 (z_x −0.783, z_s −1.225), d² = Σ(Δz)²/2:
    # 2: Δ(0.261, 0) → 0.185; 5: Δ(0, 1.225) → √0.75 = 0.866; 7: Δ(0.261, 1.225) → 0.885;
    # 3: Δ(0.522, 1.225) → 0.941; 6: Δ(2.089, 2.449) → 2.276; 4: Δ(2.350, 2.449) → 2.400.
    variables = pl.DataFrame(
        {
            "ofs_number": [1, 2, 3, 4, 5, 6, 7],
            "x": [1.0, 2.0, 3.0, 10.0, 1.0, 9.0, 2.0],
            "log10_population": [3.0, 3.0, 4.0, 5.0, 4.0, 5.0, 4.0],
        },
        schema_overrides={"ofs_number": pl.Int32},
    )
    found = neighbours.nearest_neighbours(variables)
    of_first = found.filter(pl.col("ofs_number") == 1).sort("neighbour_rank")
    assert of_first["neighbour_ofs"].to_list() == [2, 5, 7, 3, 6]
    assert of_first["distance"][1] == pytest.approx(math.sqrt(0.75))
    sd_x = math.sqrt(88 / 6)
    assert of_first["distance"][0] == pytest.approx(math.sqrt((1 / sd_x) ** 2 / 2))
    assert found.height == 7 * 5 and (found["ofs_number"] != found["neighbour_ofs"]).all()


def test_neighbour_variables_use_the_size_and_fill_missing_with_the_mean():
    values = pl.DataFrame(
        {"indicator_code": ["x", "x"], "ofs_number": [1, 2], "value": [2.0, 4.0]},
        schema_overrides={"ofs_number": pl.Int32},
    )
    population = pl.DataFrame({"ofs_number": [1, 2, 3], "population": [100.0, 1000.0, 10000.0]})
    variables = neighbours.neighbour_variables(values, population).sort("ofs_number")
    assert variables["log10_population"].to_list() == pytest.approx([2.0, 3.0, 4.0])
    _, z = neighbours.standardised(variables)
    # x: commune 3 has no value → z 0 (the mean); 2 and 4 → ∓1/√2 (sd √2)
    x_column = variables.columns.index("x") - 1
    assert z[:, x_column].tolist() == pytest.approx([-1 / math.sqrt(2), 1 / math.sqrt(2), 0.0])


# --- coverage states --------------------------------------------------------------------------------


def test_white_zone_states_of_a_hand_built_directory():
    communes = pl.DataFrame({"ofs_number": [1, 2, 3, 4]}, schema={"ofs_number": pl.Int32})
    services = pl.DataFrame(
        [
            # food aid located in 1, naming 1 and 2
            (2024, "M1", "food", 1, [1, 2], False),
            # food aid located in 3, for the whole canton (the loader lists the 45 communes)
            (2024, "M2", "food", 3, [1, 2, 3, 4], True),
            # a shelter in 1 for the whole canton
            (2024, "M2", "shelter", 1, [1, 2, 3, 4], True),
        ],
        schema={
            "year": pl.Int32,
            "member_code": pl.String,
            "theme": pl.String,
            "ofs_number": pl.Int32,
            "communes_desservies": pl.List(pl.Int32),
            "tout_le_canton": pl.Boolean,
        },
        orient="row",
    )
    states = coverage.coverage_states(services, communes, ["food", "shelter", "health"], [2024])
    state = {(r["theme"], r["ofs_number"]): r for r in states.to_dicts()}
    assert [state["food", c]["coverage_state"] for c in (1, 2, 3, 4)] == [
        "local",
        "local",
        "local",
        "canton",
    ]
    assert (state["food", 1]["services_local"], state["food", 1]["services_canton_wide"]) == (1, 1)
    assert state["food", 3]["services_located"] == 1
    assert [state["shelter", c]["coverage_state"] for c in (1, 2, 3, 4)] == [
        "local",
        "canton",
        "canton",
        "canton",
    ]
    assert {state["health", c]["coverage_state"] for c in (1, 2, 3, 4)} == {"aucun"}
    # need: food [1.5, 0.5, 0.8, 1.2] → 80th percentile 1.2 + 0.4 × 0.3 = 1.32: commune 1 only,
    # which has a local service; shelter [0.9, 2.0, 1.0, 1.1] → 1.1 + 0.4 × 0.9 = 1.46: commune 2,
    # served canton-wide only → a priority white zone.
    needs = pl.DataFrame(
        {
            "theme": ["food"] * 4 + ["shelter"] * 4,
            "year": [2024] * 8,
            "ofs_number": [1, 2, 3, 4] * 2,
            "needs_index": [1.5, 0.5, 0.8, 1.2, 0.9, 2.0, 1.0, 1.1],
        },
        schema_overrides={"year": pl.Int32, "ofs_number": pl.Int32},
    )
    ranked = coverage.with_priority(states, needs)
    priority = ranked.filter(pl.col("priority_white_zone")).select("theme", "ofs_number")
    assert priority.rows() == [("shelter", 2)]
    high = ranked.filter(pl.col("high_need")).select("theme", "ofs_number").sort("theme").rows()
    assert high == [("food", 1), ("shelter", 2)]


# --- the mapping reaches the dashboard only through a publish ---------------------------------------


def test_needs_mapping_edits_reach_the_public_file_only_through_a_publish(tmp_path, monkeypatch):
    from needs_data import CAROUGE, build_needs_db

    from etl import build, public
    from etl.paths import DATA_DIR
    from etl.steps import load_reference

    mapping_path = tmp_path / "needs_mapping.csv"
    mapping_path.write_text((DATA_DIR / "needs_mapping.csv").read_text(encoding="utf-8"))
    # an absolute name: data_dir / NEEDS_MAPPING_FILE is this file
    monkeypatch.setattr(load_reference, "NEEDS_MAPPING_FILE", str(mapping_path))
    db_path = build_needs_db(tmp_path / "observatoire.duckdb")

    def published() -> tuple[float, str, int]:
        con = public.open_public_reader(public.public_path(db_path))
        try:
            index = con.sql(
                "select needs_index from public.needs_index where theme = 'alimentation' "
                "and year = 2024 and ofs_number = ?",
                params=[CAROUGE],
            ).fetchall()[0][0]
            version = con.sql("select version from public.release").fetchall()[0][0]
            rows = con.sql(
                "select count(*) from public.needs_mapping where theme = 'alimentation'"
            ).fetchall()[0][0]
        finally:
            con.close()
        return index, version, rows

    before = published()
    assert before[2] == 2
    # alimentation keeps only the social-assistance rate
    text = mapping_path.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if "alimentation,taxpayers" not in line]
    mapping_path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    assert published() == before  # the edit alone changes nothing that is published
    build.reload_reference(db_path)  # a publish
    after = published()
    assert after[2] == 1
    assert after[0] != pytest.approx(before[0])
    assert after[1].split("-")[1] != before[1].split("-")[1]  # the release fingerprint changed


def test_no_dashboard_code_reads_the_mapping_file():
    root = Path(__file__).resolve().parent.parent / "dashboard"
    readers = [p for p in root.rglob("*.py") if "needs_mapping.csv" in p.read_text("utf-8")]
    assert readers == []


# --- indicators without sampling error: quintiles, judged by polarity ---------------------------------


def test_income_and_vacancy_are_compared_by_quintile_in_their_direction():
    from dashboard.components import needs

    ofs = list(range(1, 11))
    rows = []
    for code, polarity in (
        ("taxable_income_mean_chf", "haut_favorable"),
        ("vacant_dwellings_rate_pct", "haut_favorable"),
    ):
        for number in ofs:  # values 10, 20, … 100
            rows.append((number, 2022, code, 10.0 * number, False, polarity))
    rows += [(number, 2022, "taxpayers_ifd_n", 100.0, False, "neutre") for number in ofs]
    indicators = pl.DataFrame(
        rows,
        schema={
            "ofs_number": pl.Int32,
            "year": pl.Int32,
            "indicator_code": pl.String,
            "value": pl.Float64,
            "year_inferred": pl.Boolean,
            "polarity": pl.String,
        },
        orient="row",
    ).with_columns(
        *[pl.lit("x").alias(c) for c in ("label_fr", "label_en", "unit_fr", "unit_en", "source")]
    )
    population = pl.DataFrame(
        {
            "ofs_number": ofs,
            "year": [2022] * 10,
            "population": [1000] * 10,
            "status": ["publie"] * 10,
        }
    )
    profile = needs.indicator_profile(indicators, population)
    income = {
        r["ofs_number"]: r["judgement"]
        for r in profile.filter(pl.col("indicator_code") == "taxable_income_mean_chf").to_dicts()
    }
    # 80th percentile of 10…100 (linear) = 10 + 0.8 × 90 = 82; 20th = 28: communes 9 and 10 are in
    # the top fifth (better: higher income is better), 1 and 2 in the bottom fifth (worse)
    assert [income[n] for n in ofs] == ["moins_bien"] * 2 + ["similaire"] * 6 + ["mieux"] * 2
    vacancy = profile.filter(pl.col("indicator_code") == "vacant_dwellings_rate_pct")
    assert vacancy["compared_by_quintile"].all()
    assert set(vacancy["judgement"]) == {"mieux", "similaire", "moins_bien"}
    # a count of taxpayers is a size, never compared
    taxpayers = profile.filter(pl.col("indicator_code") == "taxpayers_ifd_n")
    assert set(taxpayers["judgement"]) == {"non_compare"}


def test_poisson_fit_with_counts_in_one_commune_gives_no_figure():
    """With counts in one commune only, the slope's estimate runs to infinity: no fit (None), and
    no division by a μ that reached 0 on the way (the fuzzed loader found it)."""
    observed = np.array([0, 0, 0, 5, 0, 0, 0, 0, 0, 0], dtype=float)
    population = np.array([1200, 2500, 1800, 900, 3000, 2200, 700, 1500, 2600, 1100], dtype=float)
    index = np.array([0.8, 1.1, 1.3, 0.6, 1.4, 1.0, 0.7, 1.2, 0.9, 1.05])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert needs_model.index_fit(observed, population, index) is None
        # one more commune with a count: the fit exists again and matches the same model
        observed[1] = 3
        fit = needs_model.index_fit(observed, population, index)
    assert fit is not None and math.isfinite(fit["slope"]) and math.isfinite(fit["slope_se"])
