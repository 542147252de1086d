"""Need against supply by commune (DESIGN §5): the queries composed with the methods of stats.py.

No widgets here: the pages (besoins, couverture, fiche) and the HTML brief call these functions and
only lay the results out. Pure functions take frames so that tests can feed them by hand; the thin
`load_*` wrappers fetch those frames through `dashboard.data`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from dashboard import data, stats

ALL_THEMES = "*"
ESTIMATED_POPULATION = ("interpole", "reporte")

# How the canton's value of an indicator is built from the communes' values, and the denominator of
# its Wilson interval. `weight`: population (residents) or taxpayers; `proportion`: the value is a
# percentage of that denominator, so it gets an interval. Indicators absent here (counts, density,
# estimated median, CATI-GE scores known for 9 communes only) are shown without a canton comparison.
INDICATOR_BASIS: dict[str, tuple[str, bool]] = {
    "social_assistance_rate_pct": ("population", True),
    "foreign_share_pct": ("population", True),
    "age_0_19_pct": ("population", True),
    "age_20_64_pct": ("population", True),
    "age_65plus_pct": ("population", True),
    "avg_household_size": ("population", False),
    # The number of dwellings is not in the reference data: residents weight it, without interval.
    "vacant_dwellings_rate_pct": ("population", False),
    "taxpayers_zero_taxable_income_pct": ("taxpayers", True),
    "taxpayers_taxable_income_le_30k_pct": ("taxpayers", True),
    "taxable_income_mean_chf": ("taxpayers", False),
}
TAXPAYERS_CODE = "taxpayers_ifd_n"


@functools.cache
def needs_mapping() -> pl.DataFrame:
    """data/needs_mapping.csv, read once per process."""
    return stats.load_needs_mapping()


# --- rates, comparison and gap for any frame of counts --------------------------------------------


def with_rates_and_gaps(frame: pl.DataFrame) -> pl.DataFrame:
    """Rates per 1,000 with CI, comparison with the canton, gap ratio, unmet requests per 1,000.

    `frame` has persons, persons_suppressed, population, population_status, canton_persons,
    canton_population, unmet_requests, needs_index. Suppressed counts are NULL: so are their rates.
    """
    canton_rate = (
        pl.when(pl.col("canton_population") > 0)
        .then(pl.col("canton_persons") / pl.col("canton_population") * 1000)
        .alias("canton_rate")
    )
    framed = frame.with_columns(
        canton_rate,
        pl.col("needs_index").fill_null(1.0),
        pl.col("population_status").is_in(ESTIMATED_POPULATION).alias("population_estimated"),
        pl.col("persons_suppressed").fill_null(False).alias("suppressed"),
    )
    rated = stats.with_rate_ci(framed, "persons", "population")
    rated = stats.with_rate_ci(rated, "unmet_requests", "population", prefix="unmet_rate")
    compared = rated.with_columns(
        stats.compare_expr(pl.col("rate_lower"), pl.col("rate_upper"), pl.col("canton_rate")).alias(
            "rate_vs_canton"
        )
    )
    return stats.with_gap(compared)


def commune_gaps(communes: pl.DataFrame, needs: pl.DataFrame) -> pl.DataFrame:
    """The rows of needs_commune_theme with rates, comparison, needs index and gap ratio."""
    joined = communes.join(
        needs.select("ofs_number", "needs_index", "any_inferred", "any_carried_forward"),
        on="ofs_number",
        how="left",
    )
    return with_rates_and_gaps(joined)


def under_served(gaps: pl.DataFrame) -> pl.DataFrame:
    """Communes whose whole gap interval lies below 1, the most clearly under-served first."""
    return gaps.filter(pl.col("under_served")).sort("gap_upper", "gap_ratio", "name")


def needs_for(
    themes: list[str], indicators: pl.DataFrame, population: pl.DataFrame
) -> pl.DataFrame:
    """Needs index per theme × commune from the mapping kept as data (index 1 for '*')."""
    return stats.needs_index(needs_mapping(), indicators, population, themes)


def needs_basis(theme: str, indicators: pl.DataFrame) -> pl.DataFrame:
    """The indicators behind a theme's needs index: label, latest year, inferred, carried forward.

    One row per mapped indicator: indicator_code, label_fr, label_en, weight, direction,
    reference_year, year_inferred (any commune's value has an inferred year), communes (with a
    value), carried (communes whose value is from an earlier year).
    """
    mapped = needs_mapping().filter(pl.col("theme") == theme)
    if mapped.is_empty():
        return mapped.select("indicator_code", "weight", "direction")
    latest = stats.latest_indicator_values(indicators, mapped["indicator_code"].to_list())
    summary = latest.group_by("indicator_code").agg(
        pl.col("reference_year").first(),
        # The flag of the reference year itself; carried values are counted apart.
        pl.col("year_inferred").filter(~pl.col("carried_forward")).any(),
        pl.len().alias("communes"),
        pl.col("carried_forward").sum().alias("carried"),
    )
    labels = indicators.select("indicator_code", "label_fr", "label_en").unique("indicator_code")
    return (
        mapped.join(summary, on="indicator_code", how="left")
        .join(labels, on="indicator_code", how="left")
        .select(
            "indicator_code",
            "label_fr",
            "label_en",
            "weight",
            "direction",
            "reference_year",
            "year_inferred",
            "communes",
            "carried",
        )
    )


# --- indicators against the canton (spine chart) --------------------------------------------------


def indicator_profile(indicators: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """Every indicator × commune at the indicator's latest year, against the canton.

    `indicators`: the rows of needs_indicators; `population`: needs_population (commune × year).
    Adds the denominator of the value's year, its Wilson interval (proportions only), the canton's
    weighted value, the comparison judged by polarity, and the spread over the communes
    (min, quartiles, max) that the spine chart draws.
    """
    codes = indicators["indicator_code"].unique().to_list()
    latest = stats.latest_indicator_values(indicators, codes)
    definitions = indicators.select(
        "indicator_code", "label_fr", "label_en", "unit_fr", "unit_en", "polarity", "source"
    ).unique("indicator_code")
    basis = pl.DataFrame(
        {
            "indicator_code": list(INDICATOR_BASIS),
            "weight_kind": [kind for kind, _ in INDICATOR_BASIS.values()],
            "is_proportion": [proportion for _, proportion in INDICATOR_BASIS.values()],
        }
    )
    taxpayers = latest.filter(pl.col("indicator_code") == TAXPAYERS_CODE).select(
        "ofs_number", pl.col("value").alias("taxpayers")
    )
    residents = population.select(
        "ofs_number",
        pl.col("year").alias("value_year"),
        pl.col("population").cast(pl.Float64).alias("residents"),
        pl.col("status").alias("population_status"),
    )
    profile = (
        latest.join(definitions, on="indicator_code", how="left")
        .join(basis, on="indicator_code", how="left")
        .join(residents, on=["ofs_number", "value_year"], how="left")
        .join(taxpayers, on="ofs_number", how="left")
        .with_columns(
            pl.when(pl.col("weight_kind") == "population")
            .then(pl.col("residents"))
            .when(pl.col("weight_kind") == "taxpayers")
            .then(pl.col("taxpayers"))
            .alias("denominator")
        )
    )
    return _compare_with_canton(_with_wilson(profile))


def _with_wilson(profile: pl.DataFrame) -> pl.DataFrame:
    successes = pl.col("value") / 100 * pl.col("denominator")
    lower, upper = stats.wilson_exprs(successes.round(0), pl.col("denominator"))
    has_interval = pl.col("is_proportion").fill_null(False) & (pl.col("denominator") > 0)
    return profile.with_columns(
        pl.when(has_interval).then(lower * 100).alias("lower"),
        pl.when(has_interval).then(upper * 100).alias("upper"),
    )


def _compare_with_canton(profile: pl.DataFrame) -> pl.DataFrame:
    weighted = pl.col("value") * pl.col("denominator")
    canton = (
        pl.when(pl.col("weight_kind").is_not_null())
        .then(
            weighted.sum().over("indicator_code")
            / pl.col("denominator").sum().over("indicator_code")
        )
        .alias("canton_value")
    )
    spread = [
        pl.col("value").min().over("indicator_code").alias("spread_min"),
        pl.col("value").quantile(0.25, "linear").over("indicator_code").alias("spread_q1"),
        pl.col("value").quantile(0.75, "linear").over("indicator_code").alias("spread_q3"),
        pl.col("value").max().over("indicator_code").alias("spread_max"),
    ]
    with_canton = profile.with_columns(canton, *spread)
    comparison = stats.compare_expr(pl.col("lower"), pl.col("upper"), pl.col("canton_value"))
    return with_canton.with_columns(comparison.alias("comparison")).with_columns(
        stats.judge_expr(pl.col("comparison"), pl.col("polarity")).alias("judgement")
    )


# --- loaders (through the data module) -------------------------------------------------------------


def load_commune_gaps(theme: str, year: int, run: Callable = data.run) -> pl.DataFrame:
    """The 45 communes for one theme and year, with rates, needs index and gap ratio (`run`: the
    dashboard's cached data.run, or a runner on the public file such as the bulletin's)."""
    communes = run("needs_commune_theme", theme=theme, year=year)
    population = communes.select("ofs_number", "population").drop_nulls()
    themes = [theme] if theme != ALL_THEMES else []
    needs = needs_for(themes, run("needs_indicators"), population) if themes else None
    if needs is None or needs.is_empty():
        needs = population.select(
            "ofs_number",
            pl.lit(1.0).alias("needs_index"),
            pl.lit(False).alias("any_inferred"),
            pl.lit(False).alias("any_carried_forward"),
        )
    return commune_gaps(communes, needs)


def load_indicator_profile() -> pl.DataFrame:
    return indicator_profile(data.run("needs_indicators"), data.run("needs_population"))


# --- one commune's brief (Fiche communale and its HTML export) --------------------------------------


def theme_rows(
    trends: pl.DataFrame, year: int, needs_index: pl.DataFrame, coverage: pl.DataFrame
) -> pl.DataFrame:
    """The commune's themes in `year`: rates with CI against the canton, gap, spread of communes.

    `trends`: fiche_trends of the commune; `needs_index`: theme, needs_index for this commune;
    `coverage`: coverage_theme_commune of the year (the 45 communes' rates give the spread).
    """
    of_year = trends.filter((pl.col("year") == year) & (pl.col("theme") != ALL_THEMES))
    rated = with_rates_and_gaps(
        of_year.join(needs_index.select("theme", "needs_index"), on="theme", how="left")
    )
    commune_rates = coverage.filter(~pl.col("persons_suppressed") & (pl.col("population") > 0))
    spread = (
        commune_rates.with_columns((pl.col("persons") / pl.col("population") * 1000).alias("r"))
        .group_by("theme")
        .agg(
            pl.col("r").min().alias("spread_min"),
            pl.col("r").quantile(0.25, "linear").alias("spread_q1"),
            pl.col("r").quantile(0.75, "linear").alias("spread_q3"),
            pl.col("r").max().alias("spread_max"),
        )
    )
    themes = coverage.select("theme", "label_fr", "label_en", "sort_order").unique("theme")
    return (
        rated.join(spread, on="theme", how="left")
        .join(themes, on="theme", how="left")
        .sort("sort_order")
    )


def trend_rows(trends: pl.DataFrame) -> pl.DataFrame:
    """All themes together, year by year: the commune's rate with CI and the canton's rate."""
    every_theme = trends.filter(pl.col("theme") == ALL_THEMES).with_columns(
        pl.lit(1.0).alias("needs_index")
    )
    return with_rates_and_gaps(every_theme).sort("year")


def services_for(directory: pl.DataFrame, ofs_number: int) -> pl.DataFrame:
    """Services of the directory located in the commune or serving it (or the whole canton)."""
    located = pl.col("ofs_number") == ofs_number
    serving = pl.col("tout_le_canton") | pl.col("communes_desservies").list.contains(ofs_number)
    return (
        directory.filter(located.fill_null(False) | serving.fill_null(False))
        .with_columns(located.fill_null(False).alias("located_here"))
        .sort("located_here", descending=True, maintain_order=True)  # keeps the directory order
    )


@dataclass(frozen=True)
class CommuneBrief:
    """Everything the brief of one commune shows, computed once for the page and the export."""

    ofs_number: int
    name: str
    year: int
    population: int | None
    population_status: str | None
    indicators: pl.DataFrame
    themes: pl.DataFrame
    trend: pl.DataFrame
    services: pl.DataFrame


def load_commune_brief(ofs_number: int, year: int) -> CommuneBrief:
    coverage = data.run("coverage_theme_commune", year=year)
    trends = data.run("fiche_trends", ofs=ofs_number)
    indicators = data.run("needs_indicators")
    population = coverage.unique("ofs_number").select("ofs_number", "population").drop_nulls()
    theme_codes = coverage["theme"].unique().to_list()
    index = needs_for(theme_codes, indicators, population).filter(
        pl.col("ofs_number") == ofs_number
    )
    commune = coverage.filter(pl.col("ofs_number") == ofs_number).row(0, named=True)
    profile = indicator_profile(indicators, data.run("needs_population"))
    return CommuneBrief(
        ofs_number=ofs_number,
        name=commune["name"],
        year=year,
        population=commune["population"],
        population_status=commune["population_status"],
        indicators=profile.filter(pl.col("ofs_number") == ofs_number).sort("indicator_code"),
        themes=theme_rows(trends, year, index, coverage),
        trend=trend_rows(trends),
        services=services_for(data.run("directory_services"), ofs_number),
    )


# --- thematic coverage ---------------------------------------------------------------------------


def coverage_cells(coverage: pl.DataFrame) -> pl.DataFrame:
    """coverage_theme_commune with the rate per 1,000 and its CI for each theme × commune."""
    framed = coverage.with_columns(
        pl.col("population_status").is_in(ESTIMATED_POPULATION).alias("population_estimated")
    )
    return stats.with_rate_ci(framed, "persons", "population")


def white_zones_by_theme(coverage: pl.DataFrame) -> pl.DataFrame:
    """Per theme: how many communes are white zones, and which (in alphabetical order)."""
    return (
        coverage.sort("name")
        .group_by("theme", maintain_order=True)
        .agg(
            pl.col("white_zone").sum().alias("white_zones"),
            pl.col("name").filter(pl.col("white_zone")).alias("white_communes"),
        )
    )
