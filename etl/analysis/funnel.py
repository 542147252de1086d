"""Funnel-plot comparisons that respect overdispersion (DESIGN §5).

Spiegelhalter, « Funnel plots for comparing institutional performance », Statistics in Medicine
24 (2005) 1185–1202: the method behind the NHS indicators (SHMI) and the PHE Fingertips profiles.
The indicator is a standardised ratio R = O/E of a commune (observed persons O against the expected
number E), its target is 1 and its precision is E.

- **Poisson limits** (the paper's appendix A.1.1): the p-quantile y of O ~ Poisson(E), interpolated
  between y − 1 and y, divided by E. They are the funnel of a world where O only varies as Poisson.
- **Overdispersion** (§6): a person counted by several members or in several quarters, and needs
  that the index does not capture, make communes vary more than Poisson allows. Each commune's
  z-score on the square-root scale, z = 2(√O − √E), is winsorised at the 10th and 90th percentiles
  of the communes' z-scores, and φ = mean(z_w²) estimates the overdispersion factor.
- **Additive random effect** (§6.2, the DerSimonian–Laird estimate): with weights w = 4E (one over
  the variance 1/(4E) of √R), τ² = (I·φ − (I − 1)) / (Σw − Σw²/Σw), or 0 when I·φ ≤ I − 1. The
  adjusted limits of R are (1 ± z_p √(1/(4E) + τ²))², the lower one floored at 0; they are never
  narrower than the Poisson limits (the wider of the two is kept).

The additive effect is used rather than the multiplicative factor φ alone because communes range from
a few hundred to 200 000 residents: a multiplicative factor still narrows the limits to nothing for
the largest communes, which would be flagged for differences of a few per cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy import stats as scipy_stats

LEVELS = (0.95, 0.998)  # the « alert » and « alarm » funnels of Spiegelhalter and Fingertips
WINSOR_FRACTION = 0.10  # each tail
MIN_COMMUNES = 10  # fewer communes with a published count: no overdispersion estimate, no flag

# Where a commune's ratio falls against the adjusted limits.
BELOW_998, BELOW_95, WITHIN, ABOVE_95, ABOVE_998 = (
    "bas_998",
    "bas_95",
    "dans_limites",
    "haut_95",
    "haut_998",
)
NOT_ASSESSED = "non_evalue"
FLAGS = (BELOW_998, BELOW_95, WITHIN, ABOVE_95, ABOVE_998, NOT_ASSESSED)
# Ranking: the most clearly low first (the order of the flags above).
FLAG_ORDER = {flag: position for position, flag in enumerate(FLAGS)}


def normal_quantile(level: float) -> float:
    """The two-sided z of a coverage level: 1.96 for 95 %, 3.09 for 99.8 %."""
    return NormalDist().inv_cdf(1 - (1 - level) / 2)


# --- Poisson limits ---------------------------------------------------------------------------------


def poisson_limit(p: float, expected: np.ndarray | float) -> np.ndarray:
    """Spiegelhalter's interpolated p-quantile of Poisson(E), over E (a limit of R = O/E).

    y is the smallest count with P(O ≤ y) ≥ p; α = (P(O ≤ y) − p) / (P(O ≤ y) − P(O ≤ y − 1)); the
    limit is (y − α)/E, floored at 0. E must be positive.
    """
    expected = np.asarray(expected, dtype=float)
    y = scipy_stats.poisson.ppf(p, expected)
    at_y = scipy_stats.poisson.cdf(y, expected)
    below_y = scipy_stats.poisson.cdf(y - 1, expected)
    alpha = (at_y - p) / (at_y - below_y)
    return np.maximum((y - alpha) / expected, 0.0)


def poisson_limits(expected: np.ndarray | float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper Poisson limits of R at a two-sided level."""
    tail = (1 - level) / 2
    return poisson_limit(tail, expected), poisson_limit(1 - tail, expected)


# --- overdispersion -----------------------------------------------------------------------------------


def z_scores(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """z = (√R − 1) / (1/(2√E)) = 2(√O − √E): the square-root scale stabilises Poisson variance."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    return 2 * (np.sqrt(observed) - np.sqrt(expected))


def winsorise(z: np.ndarray, fraction: float = WINSOR_FRACTION) -> np.ndarray:
    """z-scores below the `fraction` percentile (above 1 − fraction) set to that percentile.

    Percentiles by linear interpolation between order statistics (numpy's default).
    """
    z = np.asarray(z, float)
    low, high = np.quantile(z, [fraction, 1 - fraction])
    return np.clip(z, low, high)


def overdispersion_factor(z: np.ndarray) -> float:
    """φ = mean of the squared winsorised z-scores (1 when the communes vary as Poisson)."""
    return float(np.mean(winsorise(z) ** 2))


def random_effect_variance(phi: float, expected: np.ndarray) -> float:
    """DerSimonian–Laird τ² on the √R scale from φ and the communes' weights w = 4E."""
    weights = 4 * np.asarray(expected, float)
    n = weights.size
    excess = n * phi - (n - 1)
    if excess <= 0:
        return 0.0
    return float(excess / (weights.sum() - (weights**2).sum() / weights.sum()))


def adjusted_limits(
    expected: np.ndarray | float, level: float, tau2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Limits of R with the random effect: (1 ± z √(1/(4E) + τ²))², never narrower than Poisson."""
    expected = np.asarray(expected, float)
    z = normal_quantile(level)
    spread = z * np.sqrt(1 / (4 * expected) + tau2)
    lower = np.where(spread < 1, (1 - np.minimum(spread, 1)) ** 2, 0.0)
    upper = (1 + spread) ** 2
    poisson_lower, poisson_upper = poisson_limits(expected, level)
    return np.minimum(lower, poisson_lower), np.maximum(upper, poisson_upper)


# --- one theme × year -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dispersion:
    """What was estimated from the communes of one comparison (a theme, a year)."""

    n_communes: int
    phi: float | None
    tau2: float | None

    @property
    def assessed(self) -> bool:
        return self.tau2 is not None


def estimate(observed: np.ndarray, expected: np.ndarray) -> Dispersion:
    """φ and τ² from the communes with a published count and a positive expected number."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    usable = ~np.isnan(observed) & (expected > 0)
    n = int(usable.sum())
    if n < MIN_COMMUNES:
        return Dispersion(n, None, None)
    phi = overdispersion_factor(z_scores(observed[usable], expected[usable]))
    return Dispersion(n, phi, random_effect_variance(phi, expected[usable]))


def flag(ratio: float | None, limits: dict[float, tuple[float, float]]) -> str:
    """Where R falls against the adjusted limits at 95 % and 99.8 %."""
    if ratio is None or math.isnan(ratio) or not limits:
        return NOT_ASSESSED
    (low_95, high_95), (low_998, high_998) = limits[0.95], limits[0.998]
    if ratio < low_998:
        return BELOW_998
    if ratio < low_95:
        return BELOW_95
    if ratio > high_998:
        return ABOVE_998
    if ratio > high_95:
        return ABOVE_95
    return WITHIN


def adjusted_z(observed: np.ndarray, expected: np.ndarray, tau2: float) -> np.ndarray:
    """The z-score against the adjusted funnel: (√R − 1) / √(1/(4E) + τ²)."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    return (np.sqrt(observed / expected) - 1) / np.sqrt(1 / (4 * expected) + tau2)
