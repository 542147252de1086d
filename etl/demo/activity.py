"""The demo's activity figures: one frame per member, as its files will report them.

Demand for a theme in a commune and month is
    persons_per_year(member, theme) × share(commune, year) × trend(theme, month) × season(theme, month)
where `share` follows the commune's population that year and its needs index (etl.demo.territory),
and `trend` carries the real events of etl.demo.parameters. Capacity follows demand with a delay;
what exceeds it is turned away (`demandes_non_satisfaites`) or waits (`liste_attente`). Counts are
Poisson draws around these expectations, and every breakdown is a binomial draw inside `personnes`,
so the sums are consistent by construction. Persons are additive over sub-periods: a member's twelve
months add up to what it would report for the year, as the aggregates sum them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.demo.members import Member
from etl.demo.parameters import BASE_YEAR, SHARE_GENDER_RECORDED, THEMES, Event, Theme
from etl.demo.rises import RISE_STREAM, Draws, Rates, add_rises
from etl.demo.territory import Territory
from etl.vocabulary import CUBE_MEASURES, OUTSIDE_CANTON, PLACE_NOT_GIVEN

THEME_WEIGHTS = (1.0, 0.5, 0.35, 0.25)  # a member's first theme is its main activity
# Share of a period's persons who are new that period: lower for a month than for a year.
NEW_BY_FREQUENCY = {"mois": 0.45, "trimestre": 0.7, "annee": 1.0}
ACTIVITY_COLUMNS = CUBE_MEASURES


def _month_index(value: str) -> int:
    year, month = value.split("-")
    return int(year) * 12 + int(month) - 1


def _event_factor(events: tuple[Event, ...], month_index: int, neutral: float) -> float:
    """Product (or sum, for additive shifts: neutral=0) of the events covering a month."""
    value = neutral
    for event in events:
        start = _month_index(event.start)
        end = _month_index(event.end) if event.end else 10**9
        if start <= month_index <= end:
            value = value * event.factor if neutral == 1.0 else value + event.factor
    return value


def _normalised(profile: tuple[float, ...]) -> list[float]:
    mean = sum(profile) / len(profile)
    return [value / mean for value in profile]


def theme_months(theme: Theme, first_year: int, last_year: int) -> list[tuple]:
    """(theme, year, month, demand, capacity, new_share, women_shift) for each month of the range."""
    season = _normalised(theme.season)
    capacity_season = _normalised(theme.capacity_season or theme.season)

    def trend(index: int) -> float:
        years = (index - BASE_YEAR * 12) / 12
        return (1 + theme.growth) ** years * _event_factor(theme.events, index, 1.0)

    rows = []
    for index in range(first_year * 12, (last_year + 1) * 12):
        month = index % 12
        now, year_before = trend(index), trend(index - 12)
        rows.append(
            (
                theme.code,
                index // 12,
                month + 1,
                now * season[month],
                theme.headroom * trend(index - theme.lag_months) * capacity_season[month],
                min(0.9, theme.share_new * min(2.5, max(0.6, (now / year_before) ** 1.5))),
                _event_factor(theme.women_events, index, 0.0),
            )
        )
    return rows


def monthly_factors(first_year: int, last_year: int) -> pl.DataFrame:
    rows = [row for theme in THEMES.values() for row in theme_months(theme, first_year, last_year)]
    return pl.DataFrame(
        rows,
        schema={
            "theme": pl.String,
            "year": pl.Int32,
            "month": pl.Int32,
            "demand": pl.Float64,
            "capacity": pl.Float64,
            "new_share": pl.Float64,
            "women_shift": pl.Float64,
        },
        orient="row",
    )


@dataclass(frozen=True)
class DemoContext:
    """What every member's generation shares: the territory and the month factors of the range."""

    territory: Territory
    factors: pl.DataFrame
    population: pl.DataFrame  # ofs_number, year, population over the range
    canton_growth: pl.DataFrame  # year, growth (canton population / BASE_YEAR's)
    first_year: int
    last_year: int
    seed: int
    capacity_index: dict[tuple[str, int], float]  # (theme, year) -> mean capacity factor

    @classmethod
    def build(cls, territory: Territory, first_year: int, last_year: int, seed: int) -> DemoContext:
        population = territory.population_between(min(first_year, BASE_YEAR), last_year)
        totals = population.group_by("year").agg(pl.col("population").sum())
        base = totals.filter(pl.col("year") == BASE_YEAR)["population"][0]
        factors = monthly_factors(first_year, last_year)
        capacity = factors.group_by("theme", "year").agg(pl.col("capacity").mean())
        return cls(
            territory=territory,
            factors=factors,
            population=population,
            canton_growth=totals.select("year", (pl.col("population") / base).alias("growth")),
            first_year=first_year,
            last_year=last_year,
            seed=seed,
            capacity_index={(theme, year): value for theme, year, value in capacity.iter_rows()},
        )

    def rng(self, member: Member, stream: int) -> np.random.Generator:
        """One independent stream per member, antenna and purpose: a member's figures do not
        depend on which other members are generated (scale) or on the order of generation."""
        return np.random.default_rng([self.seed, member.index, member.antenna, stream])


# ------------------------------------------------------------------ periods


def member_months(member: Member, first_year: int, last_year: int) -> pl.DataFrame:
    """The months a member reports, each with the code of the period it belongs to."""
    start = max(first_year * 12, member.active_since.year * 12 + member.active_since.month - 1)
    months = pl.DataFrame(
        {"index": list(range(start, (last_year + 1) * 12))}, schema={"index": pl.Int32}
    )
    year = (pl.col("index") // 12).cast(pl.Int32)
    month = (pl.col("index") % 12 + 1).cast(pl.Int32)
    if member.frequency == "mois":
        code = pl.format("{}-{}", year, month.cast(pl.String).str.zfill(2))
    elif member.frequency == "trimestre":
        code = pl.format("{}-T{}", year, (month - 1) // 3 + 1)
    else:
        code = year.cast(pl.String)
    return months.select(code.alias("period_code"), year.alias("year"), month.alias("month"))


# ------------------------------------------------------------------ places


def member_places(member: Member, context: DemoContext, theme: str) -> pl.DataFrame:
    """Communes a member serves for a theme, with weight ∝ needs × closeness to its seat.

    Weights are normalised so that Σ population(2015) × weight = 1 over the communes served: a
    member's volume is spread like its public, and grows with the population.
    """
    communes = context.territory.communes
    seat = communes.filter(pl.col("name") == member.seat)
    if seat.height == 0:
        raise ValueError(f"unknown seat {member.seat!r} for {member.code}")
    distance = (
        (pl.col("x_km") - seat["x_km"][0]) ** 2 + (pl.col("y_km") - seat["y_km"][0]) ** 2
    ).sqrt()
    needs = context.territory.needs.filter(pl.col("theme") == theme).select("ofs_number", "need")
    places = (
        communes.select("ofs_number", distance.alias("distance"))
        .join(needs, on="ofs_number")
        .sort("ofs_number")
    )
    if member.reach is None:
        closeness = 0.5 + 0.5 * (-pl.col("distance") / 6.0).exp()
    else:
        places = places.sort("distance").head(member.reach)
        closeness = (-pl.col("distance") / 4.0).exp()
    base_population = context.population.filter(pl.col("year") == BASE_YEAR).select(
        "ofs_number", "population"
    )
    places = places.with_columns((pl.col("need") * closeness).alias("weight")).join(
        base_population, on="ofs_number", maintain_order="left"
    )
    norm = (places["weight"] * places["population"]).sum()
    return places.select(
        pl.col("ofs_number").cast(pl.String).alias("lieu"),
        pl.col("ofs_number").cast(pl.Int32),
        (pl.col("weight") / norm).alias("weight"),
    )


def expected_by_place(member: Member, context: DemoContext, theme: Theme) -> pl.DataFrame:
    """lieu, ofs_number, year, share: the member's share of its yearly volume in each place."""
    outside = theme.outside_canton if member.reach is None else 0.0
    unknown = theme.unknown_place if member.reach is None else theme.unknown_place / 2
    places = member_places(member, context, theme.code)
    in_canton = (
        places.join(context.population, on="ofs_number")
        .filter(pl.col("year").is_between(context.first_year, context.last_year))
        .select(
            "lieu",
            "ofs_number",
            "year",
            (pl.col("weight") * pl.col("population") * (1 - outside - unknown)).alias("share"),
        )
    )
    elsewhere = [
        context.canton_growth.select(
            pl.lit(lieu).alias("lieu"),
            pl.lit(None, dtype=pl.Int32).alias("ofs_number"),
            "year",
            (pl.col("growth") * share).alias("share"),
        )
        for lieu, share in ((OUTSIDE_CANTON, outside), (PLACE_NOT_GIVEN, unknown))
        if share > 0
    ]
    return pl.concat([in_canton, *elsewhere]).filter(
        pl.col("year").is_between(context.first_year, context.last_year)
    )


# ------------------------------------------------------------------ figures


def period_factors(member: Member, context: DemoContext, capacity_factor: float) -> pl.DataFrame:
    """theme, period_code, year: demand, served and unmet (in years of volume), new and women shares."""
    months = member_months(member, context.first_year, context.last_year)
    themes = pl.DataFrame({"theme": list(member.themes)})
    factors = months.join(themes, how="cross").join(context.factors, on=["theme", "year", "month"])
    served = pl.min_horizontal("demand", pl.col("capacity") * capacity_factor)
    factors = factors.with_columns(served.alias("served")).with_columns(
        (pl.col("demand") - pl.col("served")).alias("unmet")
    )
    return (
        factors.sort("theme", "year", "month")
        .group_by("theme", "period_code", "year", maintain_order=True)
        .agg(
            (pl.col("served").sum() / 12).alias("served"),
            (pl.col("unmet").sum() / 12).alias("unmet"),
            (pl.col("unmet").last() / 12).alias("unmet_last_month"),
            pl.col("new_share").mean(),
            pl.col("women_shift").mean(),
            pl.len().alias("months"),
        )
    )


def member_activity(member: Member, context: DemoContext) -> pl.DataFrame:
    """Every row the member reports: one per period × theme × place, all counts drawn."""
    rng = context.rng(member, 1)
    capacity_factor = float(rng.uniform(0.92, 1.15))
    periods = period_factors(member, context, capacity_factor)
    if periods.height == 0:
        return empty_activity()
    frames = []
    for position, code in enumerate(member.themes):
        theme = THEMES[code]
        volume = member.persons_per_year * THEME_WEIGHTS[position] * float(rng.lognormal(0, 0.15))
        places = expected_by_place(member, context, theme)
        lieux = places["lieu"].unique().sort()
        place_noise = pl.DataFrame(
            {"lieu": lieux, "place_noise": rng.lognormal(0, 0.25, lieux.len())}
        )
        frames.append(
            periods.filter(pl.col("theme") == code)
            .join(places, on="year")
            .join(place_noise, on="lieu")
            .with_columns(pl.lit(volume).alias("volume"))
        )
    # Draws are matched to rows by position: the order must not depend on how joins ran.
    grid = pl.concat(frames).sort("theme", "period_code", "lieu")
    return draw_counts(member, grid, context, rng)


# Longer than 60 lines: every count of a member's rows is drawn from the same random
# stream in a fixed order; splitting it would make that order (and the demo's figures) easy to break.
def draw_counts(
    member: Member, grid: pl.DataFrame, context: DemoContext, rng: np.random.Generator
) -> pl.DataFrame:
    n = grid.height
    scale = grid["volume"] * grid["share"] * grid["place_noise"]
    noise = rng.gamma(25.0, 1 / 25.0, n)
    persons = rng.poisson((scale * grid["served"]).to_numpy() * noise)
    unmet = rng.poisson((scale * grid["unmet"]).to_numpy() * 0.8 * noise)
    theme_params = pl.DataFrame(
        [
            {
                "theme": t.code,
                "acts": t.acts_per_person,
                "women": t.share_women,
                "minors": t.share_minors,
                "seniors": t.share_seniors,
                "waiting": t.waiting_list,
            }
            for t in (THEMES[code] for code in member.themes)
        ]
    )
    grid = grid.join(theme_params, on="theme", how="left", maintain_order="left")
    age_ratio = age65_ratio(context, grid)
    waiting = rng.poisson((scale * grid["unmet_last_month"] * grid["waiting"]).to_numpy())
    acts_per_person = grid["acts"].to_numpy() * float(rng.lognormal(0, 0.15))
    acts = rng.poisson(persons * acts_per_person)
    new_share = np.clip(grid["new_share"].to_numpy() * NEW_BY_FREQUENCY[member.frequency], 0, 0.95)
    new = rng.binomial(persons, new_share)
    recorded = rng.binomial(persons, SHARE_GENDER_RECORDED)
    women_share = np.clip(
        (grid["women"] + grid["women_shift"]).to_numpy() + rng.normal(0, 0.03), 0.02, 0.98
    )
    women = rng.binomial(recorded, women_share)
    minors = rng.binomial(persons, grid["minors"].to_numpy())
    seniors_share = np.clip(grid["seniors"].to_numpy() * age_ratio, 0, 0.98)
    seniors = rng.binomial(persons - minors, seniors_share)
    # The documented local rises (etl/demo/rises.py), drawn from their own stream.
    persons, acts, new, recorded, women, minors, seniors, unmet = add_rises(
        context.rng(member, RISE_STREAM),
        grid,
        Draws(persons, acts, new, recorded, women, minors, seniors, unmet),
        Rates(
            (scale * grid["served"]).to_numpy() * noise,
            (scale * grid["unmet"]).to_numpy() * 0.8 * noise,
            acts_per_person,
            new_share,
            women_share,
            grid["minors"].to_numpy(),
            seniors_share,
        ),
    )
    frame = (
        grid.select(
            pl.lit(member.code).alias("member_code"),
            "period_code",
            "year",
            "theme",
            "lieu",
            "ofs_number",
        )
        .with_columns(
            pl.Series("personnes", persons, dtype=pl.Int64),
            pl.Series("prestations", acts, dtype=pl.Int64),
            pl.Series("nouvelles_personnes", new, dtype=pl.Int64),
            pl.Series("femmes", women, dtype=pl.Int64),
            pl.Series("hommes", recorded - women, dtype=pl.Int64),
            pl.Series("mineurs", minors, dtype=pl.Int64),
            pl.Series("seniors_65", seniors, dtype=pl.Int64),
            pl.Series("demandes_non_satisfaites", unmet, dtype=pl.Int64),
            pl.Series("liste_attente", waiting, dtype=pl.Int64),
        )
        .with_columns(
            # A waiting list exists only where the theme keeps one.
            pl.when(grid["waiting"] > 0).then(pl.col("liste_attente")).alias("liste_attente"),
        )
    )
    if not member.lists_zero_rows:
        frame = frame.filter((pl.col("personnes") > 0) | (pl.col("demandes_non_satisfaites") > 0))
    return frame


def age65_ratio(context: DemoContext, grid: pl.DataFrame) -> np.ndarray:
    """The commune's share of residents aged 65+ relative to the canton's (1 outside communes)."""
    profile = context.territory.communes.select(
        "ofs_number", (pl.col("age_65plus_pct") / pl.col("age_65plus_pct").mean()).alias("ratio")
    )
    return (
        grid.select("ofs_number")
        .join(profile, on="ofs_number", how="left", maintain_order="left")["ratio"]
        .fill_null(1.0)
        .to_numpy()
    )


def empty_activity() -> pl.DataFrame:
    schema = {
        "member_code": pl.String,
        "period_code": pl.String,
        "year": pl.Int32,
        "theme": pl.String,
        "lieu": pl.String,
        "ofs_number": pl.Int32,
    }
    schema.update({column: pl.Int64 for column in ACTIVITY_COLUMNS})
    return pl.DataFrame(schema=schema)


def period_end(period_code: str) -> dt.date:
    """'2024' -> 2024-12-31, '2024-T2' -> 2024-06-30, '2024-03' -> 2024-03-31."""
    year = int(period_code[:4])
    if len(period_code) == 4:
        month = 12
    elif period_code[5] == "T":
        month = 3 * int(period_code[6])
    else:
        month = int(period_code[5:7])
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def period_start(period_code: str) -> dt.date:
    year = int(period_code[:4])
    if len(period_code) == 4:
        return dt.date(year, 1, 1)
    if period_code[5] == "T":
        return dt.date(year, 3 * int(period_code[6]) - 2, 1)
    return dt.date(year, int(period_code[5:7]), 1)
