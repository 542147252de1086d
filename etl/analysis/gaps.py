"""Gap analysis at publish time (DESIGN §5): the tables the public file gains from the protected cubes.

`gap_analysis_tables(tables)` is called by `etl.public.build_public_tables` once disclosure control
has been applied: every figure here derived from counts (expected numbers, ratios, limits,
overdispersion, fits) comes from the **published** counts of `activity_year_cube`, so it reveals
nothing they do not; a withheld count (NULL) gives no ratio, no flag and takes no part in an
estimate. Expected numbers use the population and indicators (public reference data) and the
canton's published count.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.analysis import coverage, funnel, intervals, needs_model, neighbours
from etl.vocabulary import ALL, CANTON

# The two comparisons of each commune: with the canton's rate (expected = population × canton rate)
# and with its needs (expected × needs index).
AGAINST_CANTON, AGAINST_NEEDS = "canton", "besoins"


def gap_analysis_tables(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """New public tables from the protected `tables` (the public file's frames, by name)."""
    cube = tables["activity_year_cube"]
    years = sorted(cube["year"].unique().to_list())
    communes = tables["communes"].select(pl.col("ofs_number").cast(pl.Int32))
    population = commune_population(tables["population"], years)
    mapping = tables["needs_mapping"]
    codes = mapping["indicator_code"].unique().sort().to_list()
    values = needs_model.values_for_years(tables["indicators"], codes, years)
    relative = needs_model.relative_values(mapping, values, population)
    index = needs_model.needs_index(relative, mapping, population)
    counts = observed_counts(cube, tables["population_canton"], population)
    comparisons, dispersion = compare_communes(counts, index)
    themes = tables["themes"]["code"].to_list()
    states = coverage.coverage_states(tables["services_by_year"], communes, themes, years)
    return {
        "needs_indicator_values": relative,
        "needs_index": index,
        "commune_comparisons": comparisons,
        "comparison_dispersion": dispersion,
        "needs_model_fit": model_fit(counts, index),
        "statistical_neighbours": neighbours_by_year(values, population, years),
        "service_coverage": coverage.with_priority(states, index),
    }


def commune_population(population: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    """ofs_number, year, population of the reference series for the analysis years."""
    return population.filter(pl.col("year").is_in(years) & (pl.col("population") > 0)).select(
        pl.col("ofs_number").cast(pl.Int32),
        pl.col("year").cast(pl.Int32),
        pl.col("population").cast(pl.Float64),
    )


def observed_counts(
    cube: pl.DataFrame, canton_population: pl.DataFrame, population: pl.DataFrame
) -> pl.DataFrame:
    """Every theme × year × commune: published persons (0 where nobody was reported, NULL where
    withheld), population, and the canton's published persons and population."""
    all_members = cube.filter(pl.col("category") == ALL)
    commune_cells = all_members.filter(pl.col("ofs_number").is_not_null()).select(
        "theme",
        pl.col("year").cast(pl.Int32),
        pl.col("ofs_number").cast(pl.Int32),
        pl.col("personnes").cast(pl.Float64).alias("observed"),
        pl.lit(True).alias("has_cell"),
    )
    canton = all_members.filter(pl.col("lieu") == CANTON).select(
        "theme",
        pl.col("year").cast(pl.Int32),
        pl.col("personnes").cast(pl.Float64).alias("canton_observed"),
    )
    canton_residents = canton_population.select(
        pl.col("year").cast(pl.Int32), pl.col("population").cast(pl.Float64).alias("canton_pop")
    )
    return (
        canton.join(canton_residents, on="year")
        .join(population, on="year")
        .join(commune_cells, on=["theme", "year", "ofs_number"], how="left")
        .with_columns(
            # No cell: nobody reported for the commune (0); a cell with NULL: withheld.
            pl.when(pl.col("has_cell").is_null()).then(0.0).otherwise("observed").alias("observed")
        )
        .drop("has_cell")
        .sort("theme", "year", "ofs_number")
    )


# Longer than 60 lines: the funnel of each theme × year × comparison is worked out
# on numpy slices of one sorted frame (see the comment inside); the slicing and the rebuilding of the
# frame share the same offsets and stay together.
def compare_communes(
    counts: pl.DataFrame, index: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both comparisons of every commune, with the funnel's limits and the dispersion estimates."""
    with_index = counts.join(
        index.select("theme", "year", "ofs_number", "needs_index"),
        on=["theme", "year", "ofs_number"],
        how="left",
    ).with_columns(pl.col("needs_index").fill_null(1.0))
    canton_expected = pl.col("population") * pl.col("canton_observed") / pl.col("canton_pop")
    frames = [
        with_index.with_columns(
            pl.lit(AGAINST_CANTON).alias("comparison"), canton_expected.alias("expected")
        ),
        with_index.with_columns(
            pl.lit(AGAINST_NEEDS).alias("comparison"),
            (canton_expected * pl.col("needs_index")).alias("expected"),
        ),
    ]
    # Sorted so that each theme × year × comparison is one contiguous slice: the funnel of each
    # slice is worked out on numpy arrays, and the frame is built once (a Polars frame per slice
    # cost a second per publish at the demo's volume).
    both = pl.concat(frames).sort("comparison", "theme", "year", "ofs_number")
    slices = both.group_by("comparison", "theme", "year", maintain_order=True).agg(
        pl.len().alias("n"), pl.col("canton_observed").first(), pl.col("canton_pop").first()
    )
    expected_all = both["expected"].fill_null(0.0).to_numpy()
    observed_all = both["observed"].fill_null(float("nan")).to_numpy()
    columns: dict[str, list] = {}
    estimates, start = [], 0
    for row in slices.iter_rows(named=True):
        stop = start + row["n"]
        arrays, estimate = funnel_arrays(observed_all[start:stop], expected_all[start:stop])
        for name, values in arrays.items():
            columns.setdefault(name, []).append(values)
        canton_rate = None
        if row["canton_observed"] is not None and row["canton_pop"]:
            canton_rate = float(row["canton_observed"] / row["canton_pop"] * 1000)
        estimates.append((row["theme"], row["year"], row["comparison"], *estimate, canton_rate))
        start = stop
    count = pl.col("observed")
    comparisons = (
        both.select("theme", "year", "ofs_number", "comparison", "observed")
        .with_columns(
            pl.Series(name, np.concatenate(parts)).fill_nan(None)
            for name, parts in columns.items()
            if name != "flag"
        )
        .with_columns(
            # The Poisson interval of the count over the expected number: the count's own interval.
            (intervals.poisson_lower(count) / pl.col("expected")).alias("ci_lower"),
            (intervals.poisson_upper(count) / pl.col("expected")).alias("ci_upper"),
            pl.Series(
                "flag", [f for part in columns.get("flag", []) for f in part], dtype=pl.String
            ),
        )
        .select(*COMPARISON_SCHEMA)
        if slices.height
        else pl.DataFrame(schema=COMPARISON_SCHEMA)
    )
    dispersion = pl.DataFrame(
        estimates,
        schema={
            "theme": pl.String,
            "year": pl.Int32,
            "comparison": pl.String,
            "n_communes": pl.Int32,
            "phi": pl.Float64,
            "tau2": pl.Float64,
            "canton_rate": pl.Float64,
        },
        orient="row",
    )
    return comparisons, dispersion


LIMIT_COLUMNS = {
    level: (f"limit_{suffix}_lower", f"limit_{suffix}_upper")
    for level, suffix in ((0.95, "95"), (0.998, "998"))
}
COMPARISON_SCHEMA = {
    "theme": pl.String,
    "year": pl.Int32,
    "ofs_number": pl.Int32,
    "comparison": pl.String,
    "expected": pl.Float64,
    "ratio": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "z": pl.Float64,
    "z_adjusted": pl.Float64,
    **{name: pl.Float64 for pair in LIMIT_COLUMNS.values() for name in pair},
    "flag": pl.String,
}


def funnel_arrays(observed: np.ndarray, expected: np.ndarray) -> tuple[dict, tuple]:
    """One theme × year × comparison: expected, ratio, z, adjusted z, limits, flag per commune,
    and (communes used, φ, τ²). A zero expected number or a withheld count gives no ratio."""
    estimate = funnel.estimate(observed, expected)
    positive = expected > 0
    safe_expected = np.where(positive, expected, 1.0)
    missing = np.full(expected.size, np.nan)
    limits = {}
    for level in funnel.LEVELS:
        lower, upper = (
            funnel.adjusted_limits(safe_expected, level, estimate.tau2)
            if estimate.assessed
            else (missing, missing)
        )
        limits[level] = (np.where(positive, lower, np.nan), np.where(positive, upper, np.nan))
    ratio = np.where(positive, observed / safe_expected, np.nan)
    flags = [
        funnel.flag(
            ratio[i],
            {level: (low[i], high[i]) for level, (low, high) in limits.items()}
            if estimate.assessed and positive[i]
            else {},
        )
        for i in range(expected.size)
    ]
    z_adjusted = (
        funnel.adjusted_z(observed, safe_expected, estimate.tau2) if estimate.assessed else missing
    )
    arrays = {
        "expected": np.where(positive, expected, np.nan),
        "ratio": ratio,
        "z": np.where(positive, funnel.z_scores(observed, safe_expected), np.nan),
        "z_adjusted": np.where(positive, z_adjusted, np.nan),
        "flag": flags,
    }
    for level, (low, high) in limits.items():
        arrays[LIMIT_COLUMNS[level][0]], arrays[LIMIT_COLUMNS[level][1]] = low, high
    return arrays, (estimate.n_communes, estimate.phi, estimate.tau2)


def model_fit(counts: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """For each theme with indicators and year: how well the needs index predicts the counts."""
    joined = counts.join(
        index.select("theme", "year", "ofs_number", "needs_index"),
        on=["theme", "year", "ofs_number"],
    ).filter(pl.col("observed").is_not_null() & (pl.col("population") > 0))
    rows = []
    for (theme, year), group in joined.group_by("theme", "year", maintain_order=True):
        index_values = group["needs_index"].to_numpy()
        if group.height < funnel.MIN_COMMUNES or np.ptp(np.log(index_values)) < 1e-9:
            continue
        if group["observed"].sum() <= 0:
            continue
        fit = needs_model.index_fit(
            group["observed"].to_numpy(), group["population"].to_numpy(), index_values
        )
        if fit is None:  # counts in too few communes to estimate a slope
            continue
        rows.append({"theme": theme, "year": year, **fit})
    schema = {
        "theme": pl.String,
        "year": pl.Int32,
        "n_communes": pl.Int32,
        "deviance_null": pl.Float64,
        "deviance_index": pl.Float64,
        "deviance_explained": pl.Float64,
        "deviance_explained_fixed": pl.Float64,
        "slope": pl.Float64,
        "slope_se": pl.Float64,
        "dispersion": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort("theme", "year")


def neighbours_by_year(
    values: pl.DataFrame, population: pl.DataFrame, years: list[int]
) -> pl.DataFrame:
    """Each analysis year's five statistical neighbours of every commune."""
    frames = []
    for year in years:
        variables = neighbours.neighbour_variables(
            values.filter(pl.col("year") == year).select("indicator_code", "ofs_number", "value"),
            population.filter(pl.col("year") == year).select("ofs_number", "population"),
        )
        if variables.height > neighbours.COUNT:
            frames.append(
                neighbours.nearest_neighbours(variables).with_columns(
                    pl.lit(year, dtype=pl.Int32).alias("year")
                )
            )
    schema = {
        "year": pl.Int32,
        "ofs_number": pl.Int32,
        "neighbour_rank": pl.Int32,
        "neighbour_ofs": pl.Int32,
        "distance": pl.Float64,
    }
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).select(*schema)
