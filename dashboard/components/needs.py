"""Need against supply by commune (DESIGN §5): the published gap analysis composed for the pages.

Expected numbers, ratios, funnel limits, flags, the needs index and the statistical neighbours are
computed at publish (etl/analysis, from the protected counts) and read from the public file; here
they are only combined with the rates and intervals of etl.analysis.intervals. No widgets: the pages
(besoins, couverture, fiche) and the HTML brief call these functions and only lay the results out.
Pure functions take frames so that tests can feed them by hand; the thin `load_*` wrappers fetch
those frames through `dashboard.data`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dashboard import data
from dashboard.derived_cache import per_data_version
from etl.analysis import funnel, needs_model
from etl.analysis import intervals as stats
from etl.vocabulary import ALL, ESTIMATED_POPULATION

ALL_THEMES = ALL

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
# Indicators never compared: a count of taxpayers (a size, not a need) and the CATI-GE scores, known
# for 9 communes only.
NEVER_COMPARED = frozenset({TAXPAYERS_CODE, "cati_ge_priority_ib_count"})
# An indicator without sampling error (a full count: mean income, vacancy, household size…) has no
# interval: it is higher (lower) than the canton when the commune is in the top (bottom) fifth of the
# communes' values, at or above the 80th (at or below the 20th) percentile.
QUINTILE_LOW, QUINTILE_HIGH = 0.2, 0.8


# --- rates, comparison and gap for any frame of counts --------------------------------------------


# Published flags (etl/analysis/funnel.py) read as the comparison words of the pages.
LOW_FLAGS = (funnel.BELOW_998, funnel.BELOW_95)
HIGH_FLAGS = (funnel.ABOVE_998, funnel.ABOVE_95)


def comparison_from_flag(flag: pl.Expr) -> pl.Expr:
    """plus_eleve / similaire / plus_bas / non_compare from a funnel flag (adjusted 95 % limits)."""
    return (
        pl.when(flag.is_in(HIGH_FLAGS))
        .then(pl.lit(stats.HIGHER))
        .when(flag.is_in(LOW_FLAGS))
        .then(pl.lit(stats.LOWER))
        .when(flag == funnel.WITHIN)
        .then(pl.lit(stats.SIMILAR))
        .otherwise(pl.lit(stats.NOT_COMPARED))
    )


def with_rates_and_gaps(frame: pl.DataFrame) -> pl.DataFrame:
    """Rates per 1,000 with CI, comparison with the canton, gap flags, unmet requests per 1,000.

    `frame` has persons, persons_suppressed, population, population_status, canton_persons,
    canton_population, unmet_requests, and the published canton_flag and gap_flag (funnel limits
    with overdispersion). Suppressed counts are NULL: so are their rates, and they get no flag.
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
        pl.col("gap_flag").fill_null(funnel.NOT_ASSESSED),
    )
    rated = stats.with_rate_ci(framed, "persons", "population")
    rated = stats.with_rate_ci(rated, "unmet_requests", "population", prefix="unmet_rate")
    return rated.with_columns(
        comparison_from_flag(pl.col("canton_flag").fill_null(funnel.NOT_ASSESSED)).alias(
            "rate_vs_canton"
        ),
        pl.col("gap_flag").is_in(LOW_FLAGS).alias("under_served"),
        pl.col("gap_flag").is_in(HIGH_FLAGS).alias("over_served"),
    )


def commune_gaps(communes: pl.DataFrame) -> pl.DataFrame:
    """The rows of needs_commune_theme with rates, comparison and the published gap."""
    return with_rates_and_gaps(communes)


def under_served(gaps: pl.DataFrame) -> pl.DataFrame:
    """Communes below the adjusted funnel: beyond 99.8 % first, then 95 %; lowest ratio first."""
    order = pl.col("gap_flag").replace_strict(funnel.FLAG_ORDER, default=len(funnel.FLAG_ORDER))
    return (
        gaps.filter(pl.col("under_served"))
        .with_columns(order.alias("_order"))
        .sort("_order", "gap_ratio", "name")
        .drop("_order")
    )


# How far an estimated (interpolated or carried) population may be off: about the largest yearly
# change of a commune's population. The « * » mark is shown only where such an error changes a flag.
POPULATION_MARGIN = 0.03


def _flag_at(ratio: float, expected: float, tau2: float) -> str:
    limits = {}
    for level in funnel.LEVELS:
        lower, upper = funnel.adjusted_limits(expected, level, tau2)
        limits[level] = (float(lower), float(upper))
    return funnel.flag(ratio, limits)


def reading_depends_on_population(
    ratio: float | None, expected: float | None, flag: str, tau2: float | None
) -> bool:
    """Whether the flag changes when the expected number (proportional to the population) moves by
    ±POPULATION_MARGIN: only then does an estimated population change what the row says."""
    if ratio is None or expected is None or expected <= 0 or tau2 is None:
        return False
    for factor in (1 - POPULATION_MARGIN, 1 + POPULATION_MARGIN):
        if _flag_at(ratio / factor, expected * factor, tau2) != flag:
            return True
    return False


def estimate_matters(row: dict, tau2: dict[str, float | None]) -> bool:
    """Whether the row's estimated population could change its gap or rate flag. `tau2`: the
    overdispersion of its theme and year by comparison ('besoins', 'canton')."""
    if not row["population_estimated"] or row["suppressed"]:
        return False
    canton_ratio = (
        row["rate"] / row["canton_rate"] if row["rate"] is not None and row["canton_rate"] else None
    )
    canton_expected = row["expected"] / row["needs_index"] if row["expected"] else None
    return reading_depends_on_population(
        row["gap_ratio"], row["expected"], row["gap_flag"], tau2.get("besoins")
    ) or reading_depends_on_population(
        canton_ratio, canton_expected, row["canton_flag"] or "", tau2.get("canton")
    )


def with_estimate_marks(gaps: pl.DataFrame, dispersion: pl.DataFrame) -> pl.DataFrame:
    """Add `estimate_matters`: an estimated population that could change the gap or rate flag."""
    tau2 = {row["comparison"]: row["tau2"] for row in dispersion.to_dicts()}
    marks = [estimate_matters(row, tau2) for row in gaps.to_dicts()]
    return gaps.with_columns(pl.Series("estimate_matters", marks, dtype=pl.Boolean))


def with_estimate_marks_by_theme_year(rows: pl.DataFrame, dispersion: pl.DataFrame) -> pl.DataFrame:
    """`with_estimate_marks` for rows of several themes or years (the brief's themes, its trend):
    each row judged with the τ² of its own theme and year. `dispersion`: needs_dispersion_all."""
    tau2: dict[tuple[str, int], dict[str, float | None]] = {}
    for row in dispersion.to_dicts():
        tau2.setdefault((row["theme"], row["year"]), {})[row["comparison"]] = row["tau2"]
    marks = [
        estimate_matters(row, tau2.get((row["theme"], row["year"]), {})) for row in rows.to_dicts()
    ]
    return rows.with_columns(pl.Series("estimate_matters", marks, dtype=pl.Boolean))


def load_dispersion(theme: str, year: int) -> pl.DataFrame:
    return data.run("needs_dispersion", theme=theme, year=year)


def needs_basis(theme: str, year: int) -> pl.DataFrame:
    """The indicators behind a theme's needs index in `year` (published with the release)."""
    return data.run("needs_index_basis", theme=theme, year=year)


def neighbours_of(ofs_number: int, year: int) -> pl.DataFrame:
    """The commune's statistical neighbours for the year: neighbour_rank, neighbour_ofs, name."""
    return data.run("needs_neighbours", year=year).filter(pl.col("ofs_number") == ofs_number)


# --- indicators against the canton (spine chart) --------------------------------------------------


def indicator_profile(indicators: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """Every indicator × commune at the indicator's latest year, against the canton.

    `indicators`: the rows of needs_indicators; `population`: needs_population (commune × year).
    Adds the denominator of the value's year, its Wilson interval (proportions only), the canton's
    weighted value, the comparison judged by polarity, and the spread over the communes
    (min, quartiles, max) that the spine chart draws.
    """
    codes = indicators["indicator_code"].unique().to_list()
    latest = needs_model.latest_indicator_values(indicators, codes)
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
    by_interval = stats.compare_expr(pl.col("lower"), pl.col("upper"), pl.col("canton_value"))
    value = pl.col("value")
    by_quintile = (
        pl.when(value >= value.quantile(QUINTILE_HIGH, "linear").over("indicator_code"))
        .then(pl.lit(stats.HIGHER))
        .when(value <= value.quantile(QUINTILE_LOW, "linear").over("indicator_code"))
        .then(pl.lit(stats.LOWER))
        .otherwise(pl.lit(stats.SIMILAR))
    )
    comparison = (
        pl.when(pl.col("indicator_code").is_in(list(NEVER_COMPARED)) | value.is_null())
        .then(pl.lit(stats.NOT_COMPARED))
        .when(pl.col("lower").is_not_null())
        .then(by_interval)
        .otherwise(by_quintile)
    )
    return with_canton.with_columns(
        comparison.alias("comparison"),
        (pl.col("lower").is_null() & ~pl.col("indicator_code").is_in(list(NEVER_COMPARED))).alias(
            "compared_by_quintile"
        ),
    ).with_columns(stats.judge_expr(pl.col("comparison"), pl.col("polarity")).alias("judgement"))


# --- loaders (through the data module) -------------------------------------------------------------


@per_data_version  # the same for every visitor until the next publication
def load_commune_gaps(theme: str, year: int) -> pl.DataFrame:
    """The 45 communes for one theme and year: rates, the published gap and flags, and where an
    estimated population could change the reading."""
    gaps = commune_gaps(data.run("needs_commune_theme", theme=theme, year=year))
    return with_estimate_marks(gaps, load_dispersion(theme, year))


def load_indicator_profile() -> pl.DataFrame:
    return indicator_profile(data.run("needs_indicators"), data.run("needs_population"))


# --- one commune's brief (Fiche communale and its HTML export) --------------------------------------


def theme_rows(
    trends: pl.DataFrame, year: int, coverage: pl.DataFrame, neighbours: list[int] | None = None
) -> pl.DataFrame:
    """The commune's themes in `year`: rates with CI against the canton and its neighbours, gap.

    `trends`: fiche_trends of the commune (with the published gap and flags); `coverage`:
    coverage_theme_commune of the year (the 45 communes' rates give the spread, the neighbours'
    counts their pooled rate and ratio); `neighbours`: the OFS numbers of its statistical neighbours.
    """
    of_year = trends.filter((pl.col("year") == year) & (pl.col("theme") != ALL_THEMES))
    rated = with_rates_and_gaps(of_year)
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
        .join(neighbour_figures(coverage, neighbours or []), on="theme", how="left")
        .join(themes, on="theme", how="left")
        .sort("sort_order")
    )


def neighbour_figures(coverage: pl.DataFrame, neighbours: list[int]) -> pl.DataFrame:
    """Per theme, the neighbours together: rate per 1,000 (Σ persons / Σ population) and ratio
    observed/expected (Σ persons / Σ expected), from published counts; none when one is withheld."""
    chosen = coverage.filter(pl.col("ofs_number").is_in(neighbours))
    complete = ~pl.col("persons_suppressed").any()
    return chosen.group_by("theme").agg(
        pl.when(complete & (pl.col("population").sum() > 0))
        .then(pl.col("persons").sum() / pl.col("population").sum() * 1000)
        .alias("neighbours_rate"),
        pl.when(complete & (pl.col("expected").sum() > 0))
        .then(pl.col("persons").sum() / pl.col("expected").sum())
        .alias("neighbours_ratio"),
    )


def neighbour_indicator_values(profile: pl.DataFrame, neighbours: list[int]) -> pl.DataFrame:
    """Per indicator, the mean of the neighbours' values (those that have one)."""
    return (
        profile.filter(pl.col("ofs_number").is_in(neighbours))
        .group_by("indicator_code")
        .agg(pl.col("value").mean().alias("neighbours_value"))
    )


def trend_rows(trends: pl.DataFrame) -> pl.DataFrame:
    """All themes together, year by year: the commune's rate with CI and the canton's rate."""
    return with_rates_and_gaps(trends.filter(pl.col("theme") == ALL_THEMES)).sort("year")


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
    neighbours: pl.DataFrame  # neighbour_rank, neighbour_ofs, neighbour_name (statistical)


@per_data_version  # the same for every visitor until the next publication (#19)
def load_commune_brief(ofs_number: int, year: int) -> CommuneBrief:
    coverage = data.run("coverage_theme_commune", year=year)
    trends = data.run("fiche_trends", ofs=ofs_number)
    neighbours = neighbours_of(ofs_number, year)
    near = neighbours["neighbour_ofs"].to_list()
    commune = coverage.filter(pl.col("ofs_number") == ofs_number).row(0, named=True)
    profile = indicator_profile(data.run("needs_indicators"), data.run("needs_population"))
    own = profile.filter(pl.col("ofs_number") == ofs_number).join(
        neighbour_indicator_values(profile, near), on="indicator_code", how="left"
    )
    dispersion = data.run("needs_dispersion_all")
    return CommuneBrief(
        ofs_number=ofs_number,
        name=commune["name"],
        year=year,
        population=commune["population"],
        population_status=commune["population_status"],
        indicators=own.sort("indicator_code"),
        themes=with_estimate_marks_by_theme_year(
            theme_rows(trends, year, coverage, near), dispersion
        ),
        trend=with_estimate_marks_by_theme_year(trend_rows(trends), dispersion),
        services=services_for(data.run("directory_services"), ofs_number),
        neighbours=neighbours,
    )


# --- thematic coverage ---------------------------------------------------------------------------


def coverage_cells(coverage: pl.DataFrame) -> pl.DataFrame:
    """coverage_theme_commune with the rate per 1,000 and its CI for each theme × commune."""
    framed = coverage.with_columns(
        pl.col("population_status").is_in(ESTIMATED_POPULATION).alias("population_estimated")
    )
    return stats.with_rate_ci(framed, "persons", "population")


def white_zones_by_theme(coverage: pl.DataFrame) -> pl.DataFrame:
    """Per theme: communes without a local service (white zones), those served only canton-wide,
    those with no service at all, and the priority ones (high need), by name."""
    state = pl.col("coverage_state")
    return (
        coverage.sort("name")
        .group_by("theme", maintain_order=True)
        .agg(
            pl.col("white_zone").sum().alias("white_zones"),
            (state == "canton").sum().alias("canton_only"),
            (state == "aucun").sum().alias("no_service"),
            pl.col("priority_white_zone").sum().alias("priority_zones"),
            pl.col("name").filter(pl.col("white_zone")).alias("white_communes"),
            pl.col("name").filter(pl.col("priority_white_zone")).alias("priority_communes"),
        )
    )
