"""The needs model (DESIGN §5): theme → indicators mapping, needs index, and how well it predicts.

The mapping (data/needs_mapping.csv) is reference data: loaded by the ETL with the other reference
files, checked here, and published with each release; nothing reads the CSV at request time.

For a theme t, a commune c and an analysis year y:

- each indicator mapped to t takes the commune's latest value **at or before y** (`carried` when it
  is from an earlier year); an indicator first published after y takes its earliest value (`later`);
- its relative value is the value over the canton's population-weighted mean that year (its inverse
  for direction −1), **bounded to [¼, 4]**: a zero value (inverse direction: infinite) or any ratio
  beyond the bounds is set to the bound and flagged `bounded`, never dropped;
- the raw index is the weighted mean of the relative values the commune has; the needs index is the
  raw index over its population-weighted mean across the 45 communes (communes with no value count as
  1), so that the expected numbers add up to the canton's observed total.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import polars as pl

from etl.errors import UserError

RELATIVE_FLOOR, RELATIVE_CAP = 0.25, 4.0
MAPPING_COLUMNS = ("theme", "indicator_code", "weight", "direction")
MAPPING_SCHEMA = {
    "theme": pl.String,
    "indicator_code": pl.String,
    "weight": pl.Float64,
    "direction": pl.Int8,
    "rationale": pl.String,
}


# --- the mapping ----------------------------------------------------------------------------------


def parse_mapping(
    text: str, file_name: str, themes: set[str], indicators: set[str]
) -> pl.DataFrame:
    """Read and check the mapping; a UserError in French names the line, column and value."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in MAPPING_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise UserError(
            f"{file_name} : colonnes manquantes {', '.join(missing)} "
            f"(attendu : {', '.join(MAPPING_COLUMNS)}, rationale)."
        )
    rows, seen = [], set()
    for line_no, row in enumerate(reader, start=2):
        parsed = _parse_row(f"{file_name}, ligne {line_no}", row, themes, indicators)
        if parsed[:2] in seen:
            raise UserError(
                f"{file_name}, ligne {line_no} : l'indicateur « {parsed[1]} » est déjà associé "
                f"au thème « {parsed[0]} » plus haut."
            )
        seen.add(parsed[:2])
        rows.append(parsed)
    return pl.DataFrame(rows, schema=MAPPING_SCHEMA, orient="row")


def _parse_row(where: str, row: dict, themes: set[str], indicators: set[str]) -> tuple:
    theme, code = (row.get("theme") or "").strip(), (row.get("indicator_code") or "").strip()
    if theme not in themes:
        raise UserError(f"{where}, colonne theme : « {theme} » n'est pas un code de thème connu.")
    if code not in indicators:
        raise UserError(
            f"{where}, colonne indicator_code : « {code} » n'est pas un indicateur connu "
            "(data/indicator_definitions.csv)."
        )
    raw_weight = (row.get("weight") or "").strip()
    try:
        weight = float(raw_weight)
    except ValueError:
        raise UserError(
            f"{where}, colonne weight : « {raw_weight} » n'est pas un nombre."
        ) from None
    if not weight > 0 or weight == float("inf"):
        raise UserError(f"{where}, colonne weight : {raw_weight} doit être un nombre positif.")
    direction = (row.get("direction") or "").strip()
    if direction not in ("+1", "1", "-1"):
        raise UserError(
            f"{where}, colonne direction : « {direction} » — attendu +1 (plus la valeur est haute, "
            "plus le besoin est grand) ou -1 (l'inverse)."
        )
    return theme, code, weight, int(direction), (row.get("rationale") or "").strip()


# --- indicator values for each analysis year ----------------------------------------------------------


# Longer than 60 lines: one Polars pipeline (latest value at or before each
# year, else the earliest later one), read top to bottom; its steps share the same columns.
def values_for_years(indicators: pl.DataFrame, codes: list[str], years: list[int]) -> pl.DataFrame:
    """Each indicator × commune × analysis year: the value used and the year it comes from.

    `indicators`: ofs_number, year, indicator_code, value, year_inferred. Returns indicator_code,
    ofs_number, year, value, value_year, year_inferred, carried (value_year < year), later
    (value_year > year: nothing published at or before the year, the earliest value is used).
    A commune never published for an indicator gets no row.
    """
    known = (
        indicators.filter(pl.col("indicator_code").is_in(codes))
        .select(
            "indicator_code",
            pl.col("ofs_number").cast(pl.Int32),
            pl.col("year").cast(pl.Int32).alias("value_year"),
            pl.col("value").cast(pl.Float64),
            pl.col("year_inferred").cast(pl.Boolean),
        )
        .sort("value_year")
    )
    wanted = (
        known.select("indicator_code", "ofs_number")
        .unique()
        .join(pl.DataFrame({"year": years}, schema={"year": pl.Int32}), how="cross")
        .sort("year")
    )
    on = ["indicator_code", "ofs_number"]
    before = wanted.join_asof(
        known,
        left_on="year",
        right_on="value_year",
        by=on,
        strategy="backward",
        check_sortedness=False,
    )
    after = wanted.join_asof(
        known,
        left_on="year",
        right_on="value_year",
        by=on,
        strategy="forward",
        check_sortedness=False,
    )
    chosen = [pl.coalesce(f"{c}", f"{c}_after").alias(c) for c in ("value", "value_year")]
    return (
        before.join(
            after.rename({c: f"{c}_after" for c in ("value", "value_year", "year_inferred")}),
            on=[*on, "year"],
        )
        .with_columns(
            *chosen,
            pl.when(pl.col("value_year").is_null())
            .then(pl.col("year_inferred_after"))
            .otherwise(pl.col("year_inferred"))
            .alias("year_inferred"),
        )
        .select(
            "indicator_code",
            "ofs_number",
            "year",
            "value",
            "value_year",
            "year_inferred",
            (pl.col("value_year") < pl.col("year")).alias("carried"),
            (pl.col("value_year") > pl.col("year")).alias("later"),
        )
        .sort("indicator_code", "ofs_number", "year")
    )


def latest_indicator_values(indicators: pl.DataFrame, codes: list[str]) -> pl.DataFrame:
    """Each indicator's latest year, with each commune's value carried forward to it.

    `indicators` has ofs_number, year, indicator_code, value, year_inferred. Returns one row per
    indicator × commune: value, value_year (the year the value is from), reference_year (the
    indicator's latest year), carried_forward (value_year < reference_year), year_inferred.
    """
    wanted = indicators.filter(pl.col("indicator_code").is_in(codes))
    reference_years = wanted.group_by("indicator_code").agg(
        pl.col("year").max().alias("reference_year")
    )
    return (
        wanted.sort("year")
        .group_by("indicator_code", "ofs_number")
        .agg(
            pl.col("value").last(),
            pl.col("year").last().alias("value_year"),
            pl.col("year_inferred").last(),
        )
        .join(reference_years, on="indicator_code")
        .with_columns((pl.col("value_year") < pl.col("reference_year")).alias("carried_forward"))
        .sort("indicator_code", "ofs_number")
    )


# --- relative values and the index ---------------------------------------------------------------------


def bounded_relative(value: pl.Expr, canton_mean: pl.Expr, direction: pl.Expr) -> pl.Expr:
    """value / canton mean (direction +1) or canton mean / value (−1), bounded to [¼, 4].

    A zero value gives 0 (floored to ¼) or an infinite ratio (capped at 4); never NaN or dropped.
    """
    ratio = (
        pl.when(direction > 0)
        .then(value / canton_mean)
        .when(value > 0)
        .then(canton_mean / value)
        .otherwise(pl.lit(float("inf")))
    )
    return ratio.clip(RELATIVE_FLOOR, RELATIVE_CAP)


def relative_values(
    mapping: pl.DataFrame, values: pl.DataFrame, population: pl.DataFrame
) -> pl.DataFrame:
    """Each theme × indicator × commune × year: value against the canton mean, bounded.

    `population`: ofs_number, year, population (the 45 communes). The canton mean of an indicator
    is weighted by the population of the communes that have a value that year.
    """
    weighted = (
        values.join(population, on=["ofs_number", "year"])
        .with_columns(
            ((pl.col("value") * pl.col("population")).sum() / pl.col("population").sum())
            .over("indicator_code", "year")
            .alias("canton_mean")
        )
        .drop("population")
    )
    direction = pl.col("direction")
    unbounded = pl.when(direction > 0).then(pl.col("value") / pl.col("canton_mean"))
    unbounded = unbounded.otherwise(pl.col("canton_mean") / pl.col("value"))
    return (
        mapping.select("theme", "indicator_code", "weight", "direction")
        .join(weighted, on="indicator_code")
        .with_columns(
            bounded_relative(pl.col("value"), pl.col("canton_mean"), direction).alias("relative"),
            (~unbounded.is_finite() | ~unbounded.is_between(RELATIVE_FLOOR, RELATIVE_CAP)).alias(
                "bounded"
            ),
        )
        .sort("theme", "indicator_code", "ofs_number", "year")
    )


def needs_index(relative: pl.DataFrame, mapping: pl.DataFrame, population: pl.DataFrame):
    """Needs index per theme × commune × year (1 = the canton's average need).

    `relative` from `relative_values`; `population`: ofs_number, year, population of the 45
    communes for the analysis years. Themes without any indicator get no row (the callers use 1).
    Returns theme, year, ofs_number, needs_index, indicators_used, indicators_missing, and the
    flags any_carried, any_later, any_inferred, any_bounded.
    """
    per_commune = relative.group_by("theme", "year", "ofs_number").agg(
        ((pl.col("relative") * pl.col("weight")).sum() / pl.col("weight").sum()).alias("raw"),
        pl.len().cast(pl.Int32).alias("indicators_used"),
        pl.col("carried").any().alias("any_carried"),
        pl.col("later").any().alias("any_later"),
        pl.col("year_inferred").any().alias("any_inferred"),
        pl.col("bounded").any().alias("any_bounded"),
    )
    mapped = mapping.group_by("theme").agg(pl.len().cast(pl.Int32).alias("indicators_mapped"))
    grid = mapped.join(population, how="cross")
    flags = ("any_carried", "any_later", "any_inferred", "any_bounded")
    weighted_mean = (pl.col("raw") * pl.col("population")).sum() / pl.col("population").sum()
    return (
        grid.join(per_commune, on=["theme", "year", "ofs_number"], how="left")
        .with_columns(
            pl.col("raw").fill_null(1.0),
            pl.col("indicators_used").fill_null(0),
            *[pl.col(flag).fill_null(False) for flag in flags],
        )
        .with_columns((pl.col("raw") / weighted_mean.over("theme", "year")).alias("needs_index"))
        .select(
            "theme",
            pl.col("year").cast(pl.Int32),
            pl.col("ofs_number").cast(pl.Int32),
            "needs_index",
            "indicators_used",
            (pl.col("indicators_mapped") - pl.col("indicators_used")).alias("indicators_missing"),
            *flags,
        )
        .sort("theme", "year", "ofs_number")
    )


# --- how well the index predicts: a Poisson log-linear fit --------------------------------------------


def poisson_deviance(observed: np.ndarray, fitted: np.ndarray) -> float:
    """D = 2 Σ [O log(O/μ) − (O − μ)], with O log O = 0 at O = 0."""
    observed, fitted = np.asarray(observed, float), np.asarray(fitted, float)
    safe = np.where(observed > 0, observed, 1.0)
    terms = np.where(observed > 0, observed * np.log(safe / fitted), 0.0) - (observed - fitted)
    return float(2 * terms.sum())


MU_FLOOR = 1e-10  # μ never reaches 0: where the fit runs to infinity, (y − μ)/μ stays defined


def fit_poisson(
    observed: np.ndarray, offset: np.ndarray, covariates: np.ndarray, iterations: int = 50
) -> tuple[np.ndarray, np.ndarray] | None:
    """Poisson GLM with log link, log μ = offset + X β, by iteratively reweighted least squares.

    `covariates` is the design matrix X (an intercept column included). Returns β and μ, or None
    when the estimate does not converge: with counts in a single commune, for instance, the
    maximum likelihood lies at infinity (a slope that sends every other commune's μ to 0).
    """
    y, x = np.asarray(observed, float), np.asarray(covariates, float)
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(max(y.sum(), 1e-9) / np.exp(offset).sum())
    for _ in range(iterations):
        eta = offset + x @ beta
        mu = np.maximum(np.exp(eta), MU_FLOOR)
        working = eta - offset + (y - mu) / mu
        xtw = x.T * mu
        updated = np.linalg.solve(xtw @ x, xtw @ working)
        if not np.all(np.isfinite(updated)):
            return None
        if np.max(np.abs(updated - beta)) < 1e-12:
            return updated, np.exp(offset + x @ updated)
        beta = updated
    return None


def index_fit(observed: np.ndarray, population: np.ndarray, index: np.ndarray) -> dict | None:
    """How much of the communes' variation in demand the needs index explains.

    Null model: log μ = log P + β0 (every commune at one rate). Index model: log μ = log P + β0 +
    β1 log I (β1 = 1 is the published « attendu »). deviance_explained = 1 − D_index / D_null;
    deviance_explained_fixed uses β1 = 1 (E as published, β0 fitted). The slope's standard error is
    quasi-Poisson: the Poisson one times √(Pearson χ² / (n − 2)). None when a fit does not
    converge (see fit_poisson): no figure rather than a meaningless one.
    """
    y = np.asarray(observed, float)
    offset = np.log(np.asarray(population, float))
    log_index = np.log(np.asarray(index, float))
    ones = np.ones_like(y)
    fits = (
        fit_poisson(y, offset, ones[:, None]),
        fit_poisson(y, offset, np.column_stack([ones, log_index])),
        fit_poisson(y, offset + log_index, ones[:, None]),
    )
    if any(fit is None for fit in fits):
        return None
    (_, mu_null), (beta, mu), (_, mu_fixed) = fits
    n = y.size
    dispersion = float(((y - mu) ** 2 / mu).sum() / (n - 2))
    x = np.column_stack([ones, log_index])
    covariance = np.linalg.inv((x.T * mu) @ x) * dispersion
    null = poisson_deviance(y, mu_null)
    return {
        "n_communes": n,
        "deviance_null": null,
        "deviance_index": poisson_deviance(y, mu),
        "deviance_explained": 1 - poisson_deviance(y, mu) / null if null > 0 else None,
        "deviance_explained_fixed": 1 - poisson_deviance(y, mu_fixed) / null if null > 0 else None,
        "slope": float(beta[1]),
        "slope_se": float(np.sqrt(covariance[1, 1])),
        "dispersion": dispersion,
    }
