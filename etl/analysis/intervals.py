"""Intervals of the observatory (DESIGN §5): rates, confidence intervals, comparison with the canton.

Pure functions, no database and no Streamlit. Scalars for tests and single values, Polars expressions
and frame functions for the 45 communes (vectorised, no loop per row). Only the standard library
and Polars: the normal quantile comes from `statistics.NormalDist` and the exact Poisson limits are
found by bisection on the Poisson distribution function, so scipy is not needed.

Intervals are 95 % two-sided, the convention of public-health indicator profiles (PHE Fingertips,
« Technical Guide: Confidence Intervals »):

- counts (persons served, rates per 1,000): exact Poisson limits below `EXACT_POISSON_BELOW`
  observations, Byar's approximation from there on (it is within 1 % of the exact limits there);
- proportions (percentages of a known denominator): Wilson score interval.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import polars as pl

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
Z = NormalDist().inv_cdf(1 - ALPHA / 2)  # 1.959963…
# Byar's lower limit is 48 % too low for O=1, 2.5 % for O=3, 0.75 % for O=5 and under 0.2 % from
# O=10 on (exact 4.795 vs Byar 4.787): below 10 the exact limits are used, looked up in a table.
EXACT_POISSON_BELOW = 10

# Comparison with the canton: the commune's interval lies above, around or below the canton's value.
HIGHER, SIMILAR, LOWER, NOT_COMPARED = "plus_eleve", "similaire", "plus_bas", "non_compare"
# The same, judged with the indicator's polarity (indicator_definitions.polarity).
BETTER, WORSE = "mieux", "moins_bien"
POLARITIES = ("haut_defavorable", "haut_favorable", "neutre")


# --- Scalar intervals ---------------------------------------------------------------------------


def _poisson_cdf(k: int, mean: float) -> float:
    """P(X ≤ k) for X ~ Poisson(mean), summed in log space so large means do not underflow."""
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    return math.fsum(math.exp(i * log_mean - mean - math.lgamma(i + 1)) for i in range(k + 1))


def _bisect(decreasing_fn, target: float, low: float, high: float) -> float:
    """The x in [low, high] where a decreasing function crosses `target` (to 1e-12 relative)."""
    while decreasing_fn(high) > target:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if decreasing_fn(middle) > target:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def exact_poisson_ci(observed: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Garwood) limits for a Poisson count: the chi-square / gamma quantiles.

    lower = χ²(α/2; 2O)/2 and upper = χ²(1−α/2; 2O+2)/2, i.e. the means for which observing at
    least O (resp. at most O) events has probability α/2.
    """
    _check_count(observed)
    tail = (1 - confidence) / 2
    upper_bound_guess = observed + 10 * math.sqrt(observed + 1) + 10
    upper = _bisect(lambda mean: _poisson_cdf(observed, mean), tail, 0.0, upper_bound_guess)
    if observed == 0:
        return 0.0, upper
    # P(X ≥ O) = 1 − P(X ≤ O−1) rises with the mean: bisect on its complement, which falls.
    lower = _bisect(lambda mean: _poisson_cdf(observed - 1, mean), 1 - tail, 0.0, float(observed))
    return lower, upper


def byar_ci(observed: int, z: float = Z) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson limits (good from about 10 events)."""
    _check_count(observed)
    if observed == 0:
        return 0.0, (1 - 1 / 9 + z / 3) ** 3
    lower = observed * (1 - 1 / (9 * observed) - z / (3 * math.sqrt(observed))) ** 3
    following = observed + 1
    upper = following * (1 - 1 / (9 * following) + z / (3 * math.sqrt(following))) ** 3
    return lower, upper


def poisson_ci(observed: int) -> tuple[float, float]:
    """95 % limits for a count: exact below EXACT_POISSON_BELOW, Byar from there on."""
    return exact_poisson_ci(observed) if observed < EXACT_POISSON_BELOW else byar_ci(observed)


def wilson_ci(successes: float, total: float, z: float = Z) -> tuple[float, float]:
    """Wilson score interval for a proportion successes/total (as proportions, not percent)."""
    if total <= 0 or not 0 <= successes <= total:
        raise ValueError(f"proportion impossible: {successes}/{total}")
    p = successes / total
    centre = p + z * z / (2 * total)
    half_width = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    denominator = 1 + z * z / total
    return (centre - half_width) / denominator, (centre + half_width) / denominator


def rate_per_1000(observed: int, population: float) -> tuple[float, float, float]:
    """Rate per 1,000 residents with its 95 % limits (the count's limits over the population)."""
    if population <= 0:
        raise ValueError(f"population nulle ou négative: {population}")
    lower, upper = poisson_ci(observed)
    scale = 1000 / population
    return observed * scale, lower * scale, upper * scale


def _check_count(observed: int) -> None:
    if observed < 0 or observed != int(observed):
        raise ValueError(f"un effectif doit être un entier positif ou nul, pas {observed}")


# --- Vectorised intervals (Polars expressions) --------------------------------------------------

# The exact limits of the few small counts, computed once: the vectorised path looks them up.
_EXACT_TABLE = {count: exact_poisson_ci(count) for count in range(EXACT_POISSON_BELOW)}


def _byar_lower(count: pl.Expr) -> pl.Expr:
    return count * (1 - 1 / (9 * count) - Z / (3 * count.sqrt())) ** 3


def _byar_upper(count: pl.Expr) -> pl.Expr:
    following = count + 1
    return following * (1 - 1 / (9 * following) + Z / (3 * following.sqrt())) ** 3


def poisson_lower(count: pl.Expr) -> pl.Expr:
    """Lower 95 % limit of a count column (null stays null)."""
    count = count.cast(pl.Float64)
    small = count.replace_strict({k: lo for k, (lo, _) in _EXACT_TABLE.items()}, default=None)
    return pl.when(count < EXACT_POISSON_BELOW).then(small).otherwise(_byar_lower(count))


def poisson_upper(count: pl.Expr) -> pl.Expr:
    """Upper 95 % limit of a count column (null stays null)."""
    count = count.cast(pl.Float64)
    small = count.replace_strict({k: up for k, (_, up) in _EXACT_TABLE.items()}, default=None)
    return pl.when(count < EXACT_POISSON_BELOW).then(small).otherwise(_byar_upper(count))


def with_rate_ci(
    frame: pl.DataFrame,
    count: str,
    population: str,
    *,
    per: float = 1000,
    prefix: str = "rate",
) -> pl.DataFrame:
    """Add `<prefix>`, `<prefix>_lower`, `<prefix>_upper`: count per `per` residents with 95 % CI.

    A null count (suppressed) or a missing population gives null rates, never a guess.
    """
    scale = per / pl.col(population).cast(pl.Float64)
    valid = pl.col(population) > 0
    return frame.with_columns(
        pl.when(valid).then(pl.col(count) * scale).alias(prefix),
        pl.when(valid).then(poisson_lower(pl.col(count)) * scale).alias(f"{prefix}_lower"),
        pl.when(valid).then(poisson_upper(pl.col(count)) * scale).alias(f"{prefix}_upper"),
    )


def wilson_exprs(successes: pl.Expr, total: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Wilson lower and upper limits (proportions) of two columns."""
    successes, total = successes.cast(pl.Float64), total.cast(pl.Float64)
    p = successes / total
    centre = p + Z * Z / (2 * total)
    half_width = Z * (p * (1 - p) / total + Z * Z / (4 * total * total)).sqrt()
    denominator = 1 + Z * Z / total
    return (centre - half_width) / denominator, (centre + half_width) / denominator


# --- Comparison with the canton ------------------------------------------------------------------


def compare_expr(lower: pl.Expr, upper: pl.Expr, reference: pl.Expr) -> pl.Expr:
    """plus_eleve / similaire / plus_bas: where the interval lies against the canton's value."""
    return (
        pl.when(lower.is_null() | upper.is_null() | reference.is_null())
        .then(pl.lit(NOT_COMPARED))
        .when(lower > reference)
        .then(pl.lit(HIGHER))
        .when(upper < reference)
        .then(pl.lit(LOWER))
        .otherwise(pl.lit(SIMILAR))
    )


def compare(lower: float | None, upper: float | None, reference: float | None) -> str:
    """Scalar version of `compare_expr`."""
    if lower is None or upper is None or reference is None:
        return NOT_COMPARED
    if lower > reference:
        return HIGHER
    if upper < reference:
        return LOWER
    return SIMILAR


def judge(comparison: str, polarity: str) -> str:
    """Turn higher/lower into better/worse following the indicator's polarity.

    For `haut_defavorable` (a needs indicator: more social assistance is worse) higher is worse;
    for `haut_favorable` higher is better; `neutre` keeps higher/lower without a judgement.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarité inconnue: {polarity!r} (attendu: {', '.join(POLARITIES)})")
    if comparison not in (HIGHER, LOWER) or polarity == "neutre":
        return comparison
    higher_is_worse = polarity == "haut_defavorable"
    return WORSE if (comparison == HIGHER) == higher_is_worse else BETTER


def judge_expr(comparison: pl.Expr, polarity: pl.Expr) -> pl.Expr:
    """Vectorised `judge` (unknown polarities are treated as neutral)."""
    directional = comparison.is_in([HIGHER, LOWER]) & polarity.is_in(
        ["haut_defavorable", "haut_favorable"]
    )
    higher_is_worse = polarity == "haut_defavorable"
    is_worse = (comparison == HIGHER) == higher_is_worse
    return (
        pl.when(directional)
        .then(pl.when(is_worse).then(pl.lit(WORSE)).otherwise(pl.lit(BETTER)))
        .otherwise(comparison)
    )


def gap_ratio(observed: int, expected: float) -> tuple[float, float, float]:
    """Observed/expected with the Poisson limits of the observed count divided by expected."""
    if expected <= 0:
        raise ValueError(f"effectif attendu nul ou négatif: {expected}")
    lower, upper = poisson_ci(observed)
    return observed / expected, lower / expected, upper / expected
