"""Signals (DESIGN §5): hand-built series, the disclosure contract, the demo's rises.

The expected limits are worked out in the tests from the formulas of Farrington et al. (1996), not
copied from output.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from demo_settings import DEMO_SCALE
from scipy import stats

from etl.analysis import signals
from etl.analysis.public_sql import tables_runner
from etl.demo.members import members_at_scale, read_members
from etl.demo.parameters import RISES
from etl.disclosure.crossings import QUARTER, is_published
from etl.exports import public_runner

# Small deterministic wobble (mean 0) so that the fits are not degenerate.
WOBBLE = (3, -2, 4, -5, 1, -1, 2, -4, 5, -3, 0, 2, -2, 3, -1, -2)
FIRST_YEAR = 2015


def cube(
    values: list[float | None], *, theme="*", lieu="6631", first_year=FIRST_YEAR, category="*"
):
    """A protected quarterly cube holding one series (default: a commune all themes together, all
    members), from its first quarter on; None is a withheld count (NULL with its flag, as
    disclosure control publishes it)."""
    rows = [
        {
            "year": first_year + i // 4,
            "quarter": i % 4 + 1,
            "theme": theme,
            "lieu": lieu,
            "ofs_number": int(lieu) if lieu.isdigit() else None,
            "category": category,
            "personnes": value,
            "personnes_supprime": value is None,
            "n_members": 2,
        }
        for i, value in enumerate(values)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "year": pl.Int32,
            "quarter": pl.Int32,
            "theme": pl.String,
            "lieu": pl.String,
            "ofs_number": pl.Int32,
            "category": pl.String,
            "personnes": pl.Int64,
            "personnes_supprime": pl.Boolean,
            "n_members": pl.Int64,
        },
    )


def period(index: int, first_year: int = FIRST_YEAR) -> int:
    return signals.period_number(first_year, 1) + index


def assess_all(values, first_assessed: int) -> pl.DataFrame:
    table = cube(values)
    return signals.compute_signals(
        table, assessed=[period(i) for i in range(first_assessed, len(values))]
    )


def test_a_flat_series_raises_nothing_and_its_limit_is_farringtons():
    values = [100] * 24
    result = assess_all(values, 16)
    assert (result["status"] == signals.EXPECTED).all()
    last = result.row(-1, named=True)
    # No trend (its coefficient is 0), every quarter active: intercept + 3 quarter dummies fitted
    # on the 20 quarters before. Each quarter of the year is the mean of its 5 values: μ₀ = 100,
    # φ = max(1, X²/16) = 1, var η₀ = φ / (5 × 100) = 0.002, so τ = φ + μ₀ var η₀ = 1.2.
    assert last["expected"] == pytest.approx(100)
    assert last["dispersion"] == 1.0 and last["trend"] is False and last["n_periods"] == 20
    q = stats.t.ppf(1 - signals.RULE.alpha, 20 - 4)
    limit = (100 ** (2 / 3) + q * np.sqrt(4 / 9 * 100 ** (1 / 3) * 1.2)) ** 1.5
    assert last["upper_limit"] == pytest.approx(limit, rel=1e-6)
    assert 115 < limit < 130  # a quarter needs about 20 % more than usual to be a signal


def test_a_known_jump_raises_exactly_that_quarter():
    values = [100 + WOBBLE[i % len(WOBBLE)] for i in range(28)]
    values[22] = 190  # 2020-T3
    result = assess_all(values, 16)
    raised = result.filter(pl.col("status") == signals.SIGNAL)
    assert raised.select("year", "quarter").rows() == [(2020, 3)]
    # The quarters after it are judged against a history where the jump is downweighted.
    assert result.filter(pl.col("year") * 4 + pl.col("quarter") > 2020 * 4 + 3).height == 5
    jump = raised.row(0, named=True)
    assert 90 < jump["expected"] < 110 and jump["score"] > 1


def test_seasonality_alone_raises_nothing():
    season = (300, 150, 60, 200)  # a winter peak three times the summer low
    values = [season[i % 4] * (1 + WOBBLE[i % len(WOBBLE)] / 100) for i in range(32)]
    values = [round(value) for value in values]
    result = assess_all(values, 16)
    assert result.height == 16
    assert (result["status"] == signals.EXPECTED).all()
    # Without the seasonal factor every winter would be far above the average quarter.
    assert min(values[16::4]) > 1.4 * np.mean(values[:16])
    winter = result.filter(pl.col("quarter") == 1)["expected"].to_list()
    assert all(280 < value < 320 for value in winter)


def test_a_trend_is_kept_only_when_significant():
    rising = [round(100 * 1.03**i) for i in range(20)]
    result = assess_all(rising, 19).row(0, named=True)
    # Kept: the prediction follows the growth (the last value is 171, the series' mean 132).
    assert result["trend"] is True and result["expected"] > 170
    flat = assess_all([100 + WOBBLE[i % len(WOBBLE)] for i in range(20)], 19).row(0, named=True)
    assert flat["trend"] is False


def test_too_short_a_history_raises_nothing_and_says_why():
    values = [100] * 10 + [400]
    result = assess_all(values, 10).row(0, named=True)
    assert result["status"] == signals.SHORT_HISTORY
    assert result["n_periods"] == 10  # of the RULE.min_history (16) required
    assert result["expected"] is None and result["upper_limit"] is None


def test_a_withheld_count_is_missing_history_not_a_zero():
    values: list[float | None] = [100 + WOBBLE[i % len(WOBBLE)] for i in range(21)]
    values[3] = values[9] = None
    result = assess_all(values, 20).row(0, named=True)
    assert result["n_periods"] == 18  # 20 quarters of baseline, 2 withheld
    assert result["status"] == signals.EXPECTED and 95 < result["expected"] < 105


def test_a_quarter_without_a_row_is_a_zero_once_the_series_has_begun():
    table = cube([50] * 20).filter(~((pl.col("year") == 2017) & (pl.col("quarter") == 2)))
    series = signals.published_series(table)
    assert series.height == 20
    assert series.filter(pl.col("period") == signals.period_number(2017, 2))["value"].item() == 0


def test_a_withheld_latest_count_gives_no_signal_and_no_number():
    values: list[float | None] = [100] * 20 + [None]
    table = cube(values)
    result = signals.compute_signals(table, assessed=[period(20)]).row(0, named=True)
    assert result["status"] == signals.WITHHELD
    assert (result["expected"], result["upper_limit"], result["score"]) == (None, None, None)
    # What the pages, the feed and the bulletin read: no count either.
    tables = {
        "signals": signals.compute_signals(table, assessed=[period(20)]),
        "activity_quarter_cube": table,
        "themes": pl.DataFrame(
            {"code": ["alimentation"], "label_fr": ["Aide"], "label_en": ["Aid"], "sort_order": [1]}
        ),
        "communes": pl.DataFrame({"ofs_number": [6631], "name": ["Onex"]}),
        "observations": pl.DataFrame(
            schema={
                "obs_date": pl.Date,
                "theme": pl.String,
                "ofs_number": pl.Int32,
                "niveau": pl.String,
            }
        ),
    }
    with tables_runner(tables) as run:
        shown = run("signals_list", period=None, themes=[], lieux=[], statuses=[]).row(
            0, named=True
        )
    assert shown["withheld"] is True
    assert [shown[key] for key in ("observed", "expected", "upper_limit", "score", "ratio")] == [
        None
    ] * 5


def test_an_empty_cube_gives_an_empty_table_with_its_columns():
    empty = cube([]).clear()
    result = signals.compute_signals(empty)
    assert result.is_empty() and list(result.schema) == list(signals.SIGNAL_SCHEMA)


# --- the demo's public file -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(demo_db) -> dict[str, pl.DataFrame]:
    with public_runner(demo_db) as run:
        return {
            "signals": run("signals_list", period=None, themes=[], lieux=[], statuses=[]),
        }


def test_signals_come_from_the_published_counts_only(demo_db, published):
    rows = published["signals"]
    assert rows.height > 0
    # A withheld count always gives 'retenu' with no number, and 'retenu' only comes from one.
    withheld = rows.filter(pl.col("withheld"))
    assert (withheld["status"] == signals.WITHHELD).all()
    assert withheld["expected"].null_count() == withheld.height
    assert rows.filter(pl.col("status") == signals.WITHHELD)["withheld"].all()
    # Every signal is a published count above its limit.
    raised = rows.filter(pl.col("status") == signals.SIGNAL)
    assert (raised["observed"] > raised["upper_limit"]).all()
    assert (raised["observed"] >= signals.RULE.min_count).all()


def test_only_published_crossings_make_series():
    """A cube holding every crossing (as the raw one does) gives signals for the commune totals and
    the canton's themes only: a commune's theme, a category, the canton's total, a place outside
    the communes make none, however large their jump."""
    jump = [100 + WOBBLE[i % len(WOBBLE)] for i in range(20)] + [400]
    table = pl.concat(
        [
            cube(jump, theme="*", lieu="6631"),  # Q1: a commune, all themes
            cube(jump, theme="alimentation", lieu="GE"),  # Q2: a theme in the canton
            cube(jump, theme="alimentation", lieu="6631"),  # a commune's theme: not published
            cube(jump, theme="*", lieu="6631", category="aide_alimentaire"),  # a category
            cube(jump, theme="alimentation", lieu="GE", category="aide_alimentaire"),
            cube(jump, theme="*", lieu="GE"),  # the canton's total: no series of its own
            cube(jump, theme="*", lieu="hors_canton"),
        ]
    )
    result = signals.compute_signals(table, assessed=[period(20)])
    assert sorted(result.select("theme", "lieu").rows()) == [("*", "6631"), ("alimentation", "GE")]
    assert (result["status"] == signals.SIGNAL).all()


def test_a_field_observation_asks_for_its_commune_total_and_its_theme_in_the_canton():
    observations = pl.DataFrame(
        {
            "obs_date": [dt.date(2024, 5, 2), dt.date(2024, 11, 3), dt.date(2023, 1, 9)],
            "theme": ["seniors", "droits", "sante"],
            "ofs_number": [6631, None, 6630],
            "niveau": ["alerte", "vigilance", "information"],  # an information asks nothing
        },
        schema_overrides={"ofs_number": pl.Int32},
    )
    q2, q4 = signals.period_number(2024, 2), signals.period_number(2024, 4)
    assert signals.field_requests(observations) == {
        ("*", "6631"): {q2},
        ("seniors", "GE"): {q2},
        ("droits", "GE"): {q4},
    }


def test_demo_signals_are_keyed_by_published_crossings_only(published):
    rows = published["signals"]
    commune = pl.col("lieu").str.contains(r"^\d+$")
    # Each commune all themes together, each theme in the canton: nothing else.
    assert rows.filter(commune)["theme"].unique().to_list() == ["*"]
    assert "*" not in rows.filter(~commune)["lieu"].unique().to_list()
    assert rows.filter(~commune)["lieu"].unique().to_list() == [signals.CANTON]
    assert all(
        is_published(QUARTER, lieu, theme, "*")
        for lieu, theme in rows.select("lieu", "theme").unique().rows()
    )
    # Both kinds are assessed in the latest quarter.
    latest = rows.filter(pl.col("period") == rows["period"].max())
    assert latest.filter(commune).height > 0 and latest.filter(~commune).height > 0


def test_the_demo_rises_of_the_published_quarters_are_assessed_in_their_two_series(published):
    rows = published["signals"].filter(pl.col("scope") == signals.ALL_SERIES)
    shown = set(zip(rows["year"], rows["quarter"], strict=True))
    rises = [rise for rise in RISES if (int(rise.quarter[:4]), int(rise.quarter[-1])) in shown]
    assert rises, "the demo of the tests should hold a rise in its last four quarters"
    members = {member.code for member in members_at_scale(read_members(), DEMO_SCALE)}
    for rise in rises:
        in_quarter = rows.filter(
            (pl.col("year") == int(rise.quarter[:4])) & (pl.col("quarter") == int(rise.quarter[-1]))
        )
        # Its theme in its commune is not published: no row; its two published series are there.
        assert in_quarter.filter(
            (pl.col("theme") == rise.theme) & (pl.col("lieu") == str(rise.ofs_number))
        ).is_empty()
        commune = in_quarter.filter(
            (pl.col("theme") == "*") & (pl.col("lieu") == str(rise.ofs_number))
        )
        canton = in_quarter.filter(
            (pl.col("theme") == rise.theme) & (pl.col("lieu") == signals.CANTON)
        )
        assert commune.height == 1 and canton.height == 1, rise
        if rise.reported_by in members:  # its field alert is listed beside both series
            assert commune["n_field_alerts"].item() >= 1, rise
            assert canton["n_field_alerts"].item() >= 1, rise


def test_a_field_alert_agrees_with_either_of_its_two_series():
    """An alert about one theme in one commune is compared with the commune's total and the theme's
    canton series: a signal in either confirms it, and the sentence names the series."""
    from dashboard.components import signals_text as words

    period = signals.period_number(2024, 2)

    def row(theme, lieu, status, observed=None, expected=None, limit=None):
        return {
            "theme": theme,
            "lieu": lieu,
            "commune_name": "Onex" if lieu == "6631" else None,
            "label_fr": "Seniors" if theme == "seniors" else None,
            "label_en": "Seniors" if theme == "seniors" else None,
            "status": status,
            "withheld": status == signals.WITHHELD,
            "observed": observed,
            "expected": expected,
            "upper_limit": limit,
            "ratio": observed / expected if expected else None,
            "n_periods": 20,
        }

    alert = {"niveau": "alerte", "obs_date": dt.date(2024, 5, 2), "theme": "seniors"}
    alert["ofs_number"] = 6631
    total = row("*", "6631", signals.EXPECTED, 600, 580.0, 700.0)
    canton = row("seniors", "GE", signals.SIGNAL, 2300, 1500.0, 1900.0)
    both = {(period, "*", "6631"): total, (period, "seniors", "GE"): canton}
    found = words.agreement(alert, both, period, "fr")
    assert found.kind == "confirmed"
    assert "Seniors — canton de Genève" in found.text and "2\u202f300 personnes" in found.text
    calm = {(period, "*", "6631"): total}
    seen = words.agreement(alert, calm, period, "fr")
    assert seen.kind == "not_seen" and "Tous les thèmes — Onex" in seen.text
    withheld = {(period, "*", "6631"): row("*", "6631", signals.WITHHELD)}
    assert words.agreement(alert, withheld, period, "fr").kind == "not_assessed"
    assert words.agreement(alert, {}, period, "fr").kind == "no_activity"
    # Without a commune, only the theme's canton series counts.
    assert words.agreement({**alert, "ofs_number": None}, calm, period, "fr").kind == "no_activity"
