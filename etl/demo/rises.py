"""The demo's injected local rises (etl.demo.parameters.RISES): the known truth for the signals.

In a rise's commune, theme and quarter, each member's expected persons served and turned away are
multiplied by the rise's factor (a period only partly inside the quarter, a year, gets the share of
its months that are). The extra persons are Poisson draws from a stream of their own, with their
acts, newcomers, women, minors and seniors drawn inside them like every count of the demo, and added
to the member's figures: without a rise, every other number of the demo is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.demo.parameters import RISES, SHARE_GENDER_RECORDED, Rise

RISE_STREAM = 5


@dataclass(frozen=True)
class Draws:
    persons: np.ndarray
    acts: np.ndarray
    new: np.ndarray
    recorded: np.ndarray  # persons whose sex is recorded
    women: np.ndarray
    minors: np.ndarray
    seniors: np.ndarray
    unmet: np.ndarray


@dataclass(frozen=True)
class Rates:
    """What each row's counts were drawn with: expectations, then shares inside the persons."""

    persons: np.ndarray
    unmet: np.ndarray
    acts_per_person: np.ndarray
    new: np.ndarray
    women: np.ndarray
    minors: np.ndarray
    seniors: np.ndarray  # among persons who are not minors


def period_quarters(period_codes: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Year and quarter of each period code ('2024', '2024-T2', '2024-05'); quarter 0 for a year."""
    codes = period_codes.to_frame("code")
    parts = codes.select(
        pl.col("code").str.slice(0, 4).cast(pl.Int32).alias("year"),
        pl.when(pl.col("code").str.len_chars() == 4)
        .then(0)
        .when(pl.col("code").str.contains("T"))
        .then(pl.col("code").str.slice(6, 1).cast(pl.Int32))
        .otherwise((pl.col("code").str.slice(5, 2).cast(pl.Int32) - 1) // 3 + 1)
        .alias("quarter"),
    )
    return parts["year"].to_numpy(), parts["quarter"].to_numpy()


def rise_factor(rise: Rise, grid: pl.DataFrame, year: np.ndarray, quarter: np.ndarray):
    """Each row's multiplier for one rise (1 outside it): a year holds a quarter of its months."""
    inside = np.where(quarter == 0, 0.25, (quarter == int(rise.quarter[-1])).astype(float))
    matches = (
        (year == int(rise.quarter[:4]))
        & (grid["theme"] == rise.theme).to_numpy()
        & (grid["ofs_number"] == rise.ofs_number).fill_null(False).to_numpy()
    )
    return 1.0 + (rise.factor - 1.0) * inside * matches


def add_rises(
    rng: np.random.Generator, grid: pl.DataFrame, draws: Draws, rates: Rates
) -> tuple[np.ndarray, ...]:
    """The member's counts with the extra persons of every rise added (in Draws' order)."""
    factor = np.ones(grid.height)
    year, quarter = period_quarters(grid["period_code"])
    for rise in RISES:
        factor *= rise_factor(rise, grid, year, quarter)
    if np.all(factor == 1.0):
        return tuple(draws.__dict__.values())
    extra = rng.poisson(rates.persons * (factor - 1.0))
    extra_minors = rng.binomial(extra, rates.minors)
    extra_recorded = rng.binomial(extra, SHARE_GENDER_RECORDED)
    return (
        draws.persons + extra,
        draws.acts + rng.poisson(extra * rates.acts_per_person),
        draws.new + rng.binomial(extra, rates.new),
        draws.recorded + extra_recorded,
        draws.women + rng.binomial(extra_recorded, rates.women),
        draws.minors + extra_minors,
        draws.seniors + rng.binomial(extra - extra_minors, rates.seniors),
        draws.unmet + rng.poisson(rates.unmet * (factor - 1.0)),
    )
