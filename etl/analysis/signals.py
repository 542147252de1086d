"""Signals (early warning, DESIGN §5): each quarter of a published quarterly series against what its
own published history predicts, with seasonality, trend and overdispersion.

The series are the quarterly crossings the public file holds (etl.disclosure.crossings), all members
(category '*'): each commune, all themes together (crossing Q1), and each theme in the canton (GE,
crossing Q2). A commune's quarters by theme are not published, so no signal is computed for them: a
rise of one theme in one commune shows in its commune's total and in its theme's canton series,
diluted by the rest of each.

The method is the improved Farrington algorithm that public-health agencies use for exceedance
detection (Farrington et al., JRSS A 1996; Noufaily et al., Stat Med 2013), adapted to quarters:

1. Baseline: the `baseline_quarters` (20: five years) before the assessed quarter. A withheld count
   (disclosure control: NULL with its `_supprime` flag) is missing history, never a zero nor an
   estimate: the model is fitted on the published quarters only; a quarter with no published row,
   once the series has begun, is a zero (nobody served there that quarter).
2. Model: a quasi-Poisson GLM fitted by statsmodels on a linear trend and a quarter-of-year factor
   (the seasonality); overdispersion phi = Pearson X² / (n − p), never below 1.
3. Past outbreaks downweighted: a past quarter whose standardised Anscombe residual exceeds
   `reweight_above` (2.58) gets the weight s⁻², weights rescaled to sum to n, model refitted.
4. Trend kept only when significant (two-sided test at `trend_level`, 5 %), else refitted without.
5. Upper prediction limit on the 2/3-power scale (Farrington 1996), one-sided level 1 − `alpha`:
   U = (μ₀^(2/3) + q·√(4/9 · μ₀^(1/3) · (φ + μ₀·var η₀)))^(3/2), with q the (1 − α) quantile of
   Student's t on the model's residual degrees of freedom rather than the normal's: φ is estimated
   from 8 to 16 degrees of freedom, and with the normal quantile the 12-quarter histories of the
   demo raised twice the false alarms of the 20-quarter ones (bench/bench_signals.py).
6. A signal is raised when the published count exceeds U and is at least `min_count`.

A quarter is assessed only with at least `min_history` published quarters in its baseline (16:
four years, so that each quarter of the year is seen four times); otherwise its status says why.
Everything is computed from the protected cube the public file holds, so a signal reveals nothing
the published counts do not: a withheld count in the assessed quarter gives no signal and no number.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import stats

from etl.disclosure.crossings import published_rows
from etl.vocabulary import ALL, CANTON

QUARTER_CUBE = "activity_quarter_cube"
SIGNALS_TABLE = "signals"
MEASURE = "personnes"  # persons served: the count officials follow
STORED_QUARTERS = 4  # every series is assessed for the last four published quarters
FIT_TOLERANCE = 1e-6  # relative change of the deviance: far finer than the limits need

# Status of one assessment (a code; the dashboard translates it).
SIGNAL = "signal"  # above the upper prediction limit
EXPECTED = "attendu"  # within what the history predicts
WITHHELD = "retenu"  # the quarter's count is withheld: no signal, no number
SHORT_HISTORY = "historique_court"  # fewer than min_history published quarters
NO_HISTORY = "historique_nul"  # the baseline is all zeros: nothing to compare with
NOT_FITTED = "modele_non_ajuste"  # the regression did not converge (rare, degenerate series)
STATUSES = (SIGNAL, EXPECTED, WITHHELD, SHORT_HISTORY, NO_HISTORY, NOT_FITTED)
# Why a quarter was assessed: every series in the latest quarters; in earlier quarters, only the
# series a public field observation (« vigilance », « alerte ») concerns, so that it can say
# whether the numbers agree.
ALL_SERIES, FIELD_ONLY = "trimestre", "terrain"
FIELD_LEVELS = ("vigilance", "alerte")


@dataclass(frozen=True)
class SignalRule:
    """The detection rule's settings (tuned on the demo's seed 11, reported on seed 42: bench/)."""

    baseline_quarters: int = 20
    min_history: int = 16
    alpha: float = 0.01
    reweight_above: float = 2.58
    trend_level: float = 0.05
    min_count: int = 20

    def quantile(self, df_resid: int) -> float:
        return float(stats.t.ppf(1 - self.alpha, df_resid))


RULE = SignalRule()


@dataclass(frozen=True)
class Assessment:
    status: str
    expected: float | None = None
    upper_limit: float | None = None
    score: float | None = None  # (observed − expected) / (limit − expected): above 1 is a signal
    dispersion: float | None = None
    trend: bool | None = None
    n_periods: int = 0  # published quarters in the baseline


@dataclass(frozen=True)
class _Fit:
    params: np.ndarray
    cov: np.ndarray  # of the parameters, scaled by the dispersion
    dispersion: float
    df_resid: int


def _design(time: np.ndarray, quarter: np.ndarray, *, trend: bool, season: bool) -> np.ndarray:
    columns = [np.ones(time.size)]
    if trend:
        columns.append(time.astype(float))
    if season:
        columns += [(quarter == q).astype(float) for q in (2, 3, 4)]
    return np.column_stack(columns)


def _quasi_poisson(
    y: np.ndarray, x: np.ndarray, weights: np.ndarray, start: np.ndarray | None = None
) -> tuple[_Fit, np.ndarray]:
    """statsmodels' Poisson GLM with prior weights; dispersion from Pearson's X², at least 1."""
    model = sm.GLM(y, x, family=sm.families.Poisson(), var_weights=weights)
    result = model.fit(start_params=start, tol=FIT_TOLERANCE)
    mu = result.fittedvalues
    df_resid = max(y.size - x.shape[1], 1)
    dispersion = max(1.0, float(np.sum(weights * (y - mu) ** 2 / mu)) / df_resid)
    cov = result.normalized_cov_params * dispersion
    return _Fit(result.params, cov, dispersion, df_resid), mu


def _outbreak_weights(y: np.ndarray, x: np.ndarray, mu: np.ndarray, fit: _Fit, above: float):
    """Farrington's weights: past quarters with a large standardised Anscombe residual count less."""
    anscombe = 1.5 * (np.cbrt(y) ** 2 - np.cbrt(mu) ** 2) / mu ** (1 / 6)
    # Leverages of the IRLS fit (working weights mu for a log link): diag(W½ X (X'WX)⁻¹ X' W½).
    root = x * np.sqrt(mu)[:, None]
    leverage = np.einsum("ij,jk,ik->i", root, fit.cov / fit.dispersion, root)
    standardised = anscombe / np.sqrt(fit.dispersion * np.clip(1 - leverage, 1e-8, None))
    weights = np.where(standardised > above, standardised**-2.0, 1.0)
    return weights * y.size / weights.sum()


def _fit_model(y, time, quarter, rule: SignalRule, *, trend: bool, season: bool):
    x = _design(time, quarter, trend=trend, season=season)
    first, mu = _quasi_poisson(y, x, np.ones(y.size))
    weights = _outbreak_weights(y, x, mu, first, rule.reweight_above)
    if np.all(weights == 1.0):  # no past outbreak: the first fit is the model
        return first
    fit, _ = _quasi_poisson(y, x, weights, start=first.params)
    return fit


def _trend_is_significant(fit: _Fit, level: float) -> bool:
    statistic = fit.params[1] / np.sqrt(fit.cov[1, 1])
    return bool(2 * stats.t.sf(abs(statistic), fit.df_resid) < level)


def _upper_limit(mu0: float, var_eta0: float, dispersion: float, quantile: float) -> float:
    """Farrington's upper prediction limit on the 2/3-power scale."""
    tau = dispersion + mu0 * var_eta0
    spread = quantile * np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)
    return float((mu0 ** (2 / 3) + spread) ** 1.5)


def assess(
    history: np.ndarray,
    history_time: np.ndarray,
    history_quarter: np.ndarray,
    observed: float | None,
    time: int,
    quarter: int,
    rule: SignalRule = RULE,
) -> Assessment:
    """One quarter (`time`, `quarter` of the year) against its baseline.

    `history` holds the baseline's counts (NaN where withheld), `history_time` their quarter numbers
    (year × 4 + quarter − 1) and `history_quarter` their quarter of the year (1–4); `observed` is
    the published count of the assessed quarter, None when withheld.
    """
    known = ~np.isnan(history)
    y = history[known]
    if observed is None or np.isnan(observed):
        return Assessment(WITHHELD, n_periods=int(y.size))
    if y.size < rule.min_history:
        return Assessment(SHORT_HISTORY, n_periods=int(y.size))
    if y.sum() == 0:
        return Assessment(NO_HISTORY, n_periods=int(y.size))
    t, q = history_time[known] - time, history_quarter[known]
    # A quarter of the year never active in the baseline cannot be estimated: no seasonality then.
    season = all(y[q == level].sum() > 0 for level in (1, 2, 3, 4))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fit = _fit_model(y, t, q, rule, trend=True, season=season)
            trend = _trend_is_significant(fit, rule.trend_level)
            if not trend:
                fit = _fit_model(y, t, q, rule, trend=False, season=season)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return Assessment(NOT_FITTED, n_periods=int(y.size))
    x0 = _design(np.array([0]), np.array([quarter]), trend=trend, season=season)[0]
    eta0, var_eta0 = float(x0 @ fit.params), float(x0 @ fit.cov @ x0)
    mu0 = float(np.exp(eta0))
    if not (np.isfinite(mu0) and np.isfinite(var_eta0)):
        return Assessment(NOT_FITTED, n_periods=int(y.size))
    limit = _upper_limit(mu0, var_eta0, fit.dispersion, rule.quantile(fit.df_resid))
    is_signal = observed > limit and observed >= rule.min_count
    return Assessment(
        SIGNAL if is_signal else EXPECTED,
        expected=mu0,
        upper_limit=limit,
        score=(observed - mu0) / (limit - mu0) if limit > mu0 else None,
        dispersion=fit.dispersion,
        trend=trend,
        n_periods=int(y.size),
    )


# --- from the protected quarterly cube to the public table ---------------------------------------

SIGNAL_SCHEMA = {
    "year": pl.Int32,
    "quarter": pl.Int32,
    "theme": pl.String,
    "lieu": pl.String,
    "ofs_number": pl.Int32,
    "measure": pl.String,
    "scope": pl.String,
    "status": pl.String,
    "expected": pl.Float64,
    "upper_limit": pl.Float64,
    "score": pl.Float64,
    "dispersion": pl.Float64,
    "trend": pl.Boolean,
    "n_periods": pl.Int32,
}


ASSESSMENT_COLUMNS = (
    "status",
    "expected",
    "upper_limit",
    "score",
    "dispersion",
    "trend",
    "n_periods",
)


def period_number(year: pl.Expr | int, quarter: pl.Expr | int):
    """Quarters counted from year 0: consecutive quarters differ by one."""
    return year * 4 + quarter - 1


def series_rows() -> pl.Expr:
    """The quarterly cube's rows that make a series: each commune all themes together (Q1), each
    theme in the canton (Q2), all members; and only rows of a published crossing, whatever the
    cube holds."""
    commune_total = (pl.col("theme") == ALL) & pl.col("lieu").str.contains(r"^\d+$")
    canton_theme = (pl.col("theme") != ALL) & (pl.col("lieu") == CANTON)
    return (
        (pl.col("category") == ALL)
        & (commune_total | canton_theme)
        & published_rows(in_year_cube=False)
    )


def published_series(quarter_cube: pl.DataFrame, measure: str = MEASURE) -> pl.DataFrame:
    """theme, lieu, ofs_number, period, value: the PUBLISHED count of every series (`series_rows`),
    each quarter from the series' first published row to the latest quarter of the cube. A quarter
    without a row is 0; a withheld count is NaN."""
    cells = quarter_cube.filter(series_rows()).select(
        "theme",
        "lieu",
        pl.col("ofs_number").cast(pl.Int32),
        period_number(pl.col("year").cast(pl.Int32), pl.col("quarter").cast(pl.Int32)).alias(
            "period"
        ),
        # Whatever the protected cube holds is the published value; empty means withheld.
        pl.col(measure).cast(pl.Float64).fill_null(float("nan")).alias("value"),
    )
    if cells.is_empty():
        return cells
    last = cells["period"].max()
    spans = cells.group_by("theme", "lieu", "ofs_number").agg(
        pl.int_ranges(pl.col("period").min(), last + 1, dtype=pl.Int32).alias("period")
    )
    return (
        spans.explode("period")
        .join(cells, on=["theme", "lieu", "ofs_number", "period"], how="left", nulls_equal=True)
        .with_columns(pl.col("value").fill_null(0.0))
        .sort("theme", "lieu", "period")
    )


def assessed_periods(series: pl.DataFrame, n_quarters: int = STORED_QUARTERS) -> list[int]:
    """The latest `n_quarters` quarters of the cube (the ones the public file reports on)."""
    if series.is_empty():
        return []
    last = int(series["period"].max())
    return list(range(last - n_quarters + 1, last + 1))


def assess_series(
    periods: np.ndarray, values: np.ndarray, assessed: list[int], rule: SignalRule = RULE
) -> list[tuple[int, Assessment]]:
    """The assessments of one series (consecutive `periods`, their `values`) for each quarter of
    `assessed` that the series covers."""
    start = periods[0]
    results = []
    for period in assessed:
        index = period - start
        if index < 0 or index >= periods.size:
            continue
        low = max(0, index - rule.baseline_quarters)
        window = slice(low, index)
        observed = values[index]
        results.append(
            (
                period,
                assess(
                    values[window],
                    periods[window],
                    periods[window] % 4 + 1,
                    None if np.isnan(observed) else float(observed),
                    int(period),
                    int(period % 4 + 1),
                    rule,
                ),
            )
        )
    return results


def observation_series(theme: str, ofs_number: int | None) -> list[tuple[str, str]]:
    """The series (theme, lieu) a field observation is compared with: its theme in the canton, and,
    when it names a commune, that commune's all-themes series (its theme alone there is not
    published)."""
    series = [(theme, CANTON)]
    if ofs_number is not None:
        series.insert(0, (ALL, str(ofs_number)))
    return series


def field_requests(observations: pl.DataFrame) -> dict[tuple[str, str], set[int]]:
    """(theme, lieu) → the quarters of its public « vigilance » and « alerte » observations."""
    notes = observations.filter(pl.col("niveau").is_in(FIELD_LEVELS)).select(
        "theme",
        pl.col("ofs_number").cast(pl.Int32),
        period_number(pl.col("obs_date").dt.year(), pl.col("obs_date").dt.quarter()).alias(
            "period"
        ),
    )
    requests: dict[tuple[str, str], set[int]] = {}
    for theme, ofs_number, period in notes.unique().iter_rows():
        for key in observation_series(theme, ofs_number):
            requests.setdefault(key, set()).add(int(period))
    return requests


def compute_signals(
    quarter_cube: pl.DataFrame,
    *,
    assessed: list[int] | None = None,
    requests: dict[tuple[str, str], set[int]] | None = None,
    rule: SignalRule = RULE,
    measure: str = MEASURE,
) -> pl.DataFrame:
    """One row per series × assessed quarter: every series for the `assessed` quarters (default:
    the latest STORED_QUARTERS), scope 'trimestre'; and, scope 'terrain', the earlier quarters that
    `requests` names for a series (where a field observation asks whether the numbers agree)."""
    series = published_series(quarter_cube, measure)
    assessed = assessed_periods(series) if assessed is None else assessed
    requests = requests or {}
    rows = []
    for (theme, lieu, ofs_number), one in series.group_by(
        "theme", "lieu", "ofs_number", maintain_order=True
    ):
        periods, values = one["period"].to_numpy(), one["value"].to_numpy()
        wanted = sorted(set(assessed) | requests.get((theme, lieu), set()))
        for period, result in assess_series(periods, values, wanted, rule):
            scope = ALL_SERIES if period in assessed else FIELD_ONLY
            rows.append(
                (period // 4, period % 4 + 1, theme, lieu, ofs_number, measure, scope)
                + tuple(getattr(result, name) for name in ASSESSMENT_COLUMNS)
            )
    return pl.DataFrame(rows, schema=SIGNAL_SCHEMA, orient="row").sort(
        "year", "quarter", "theme", "lieu"
    )


def signal_tables(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The public tables this module adds, from the PROTECTED tables of the public file."""
    requests = field_requests(tables["observations"]) if "observations" in tables else {}
    return {SIGNALS_TABLE: compute_signals(tables[QUARTER_CUBE], requests=requests)}
