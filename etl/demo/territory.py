"""The real Geneva the demo is built on: communes, their population by year, needs and positions.

Read from a database created by `etl.build.init_database` (the reference tables come from
data/reference/), so the demo uses exactly the population series and indicators the dashboard shows.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl import db
from etl.demo.parameters import THEMES

# Positions in km on a local plane around Geneva (equirectangular: fine at this scale).
ORIGIN_LON, ORIGIN_LAT = 6.15, 46.2
KM_PER_DEGREE_LAT = 110.57
KM_PER_DEGREE_LON = 111.32 * math.cos(math.radians(ORIGIN_LAT))


@dataclass(frozen=True)
class Territory:
    communes: pl.DataFrame  # ofs_number, name, x_km, y_km, one column per indicator used
    population: pl.DataFrame  # ofs_number, year, population (reference series, filled)
    aliases: pl.DataFrame  # ofs_number, alias (spellings seen in real files)
    needs: pl.DataFrame  # theme, ofs_number, need (1 = canton average)

    def population_between(self, first_year: int, last_year: int) -> pl.DataFrame:
        """Population for every commune and year, the last known year carried forward."""
        years = pl.DataFrame(
            {"year": list(range(first_year, last_year + 1))}, schema={"year": pl.Int32}
        )
        grid = self.communes.select("ofs_number").join(years, how="cross")
        return (
            grid.join(self.population, on=["ofs_number", "year"], how="left")
            .sort("ofs_number", "year")
            .with_columns(pl.col("population").forward_fill().backward_fill().over("ofs_number"))
        )


def indicator_codes() -> list[str]:
    return sorted({code for theme in THEMES.values() for code in theme.needs})


def read_territory(db_path: Path) -> Territory:
    con = db.open_reader(db_path)
    try:
        communes = con.sql("select ofs_number, name from communes order by ofs_number").pl()
        population = con.sql(
            """select ofs_number, year, population from population
               where is_reference order by ofs_number, year"""
        ).pl()
        indicators = con.sql(
            "select ofs_number, indicator_code, value from indicators where indicator_code in "
            f"({', '.join('?' for _ in indicator_codes())})",
            params=indicator_codes(),
        ).pl()
        aliases = con.sql("select ofs_number, alias from commune_aliases").pl()
        boundaries = con.sql(
            "select ofs_number, geojson from boundaries where kind = 'commune'"
        ).pl()
    finally:
        con.close()
    return build_territory(communes, population, indicators, aliases, boundaries)


def build_territory(
    communes: pl.DataFrame,
    population: pl.DataFrame,
    indicators: pl.DataFrame,
    aliases: pl.DataFrame,
    boundaries: pl.DataFrame,
) -> Territory:
    latest_population = (
        population.sort("year").group_by("ofs_number").agg(pl.col("population").last())
    )
    profile = commune_profile(communes, indicators, latest_population)
    positions = pl.DataFrame(
        [(ofs, *centroid_km(json.loads(geometry))) for ofs, geometry in boundaries.iter_rows()],
        schema={"ofs_number": pl.Int32, "x_km": pl.Float64, "y_km": pl.Float64},
        orient="row",
    )
    profile = profile.with_columns(pl.col("ofs_number").cast(pl.Int32)).join(
        positions, on="ofs_number", how="left"
    )
    return Territory(
        communes=profile,
        population=population.select(
            pl.col("ofs_number").cast(pl.Int32),
            pl.col("year").cast(pl.Int32),
            pl.col("population").cast(pl.Float64),
        ),
        aliases=aliases.select(pl.col("ofs_number").cast(pl.Int32), "alias"),
        needs=needs_by_theme(profile, latest_population),
    )


def commune_profile(
    communes: pl.DataFrame, indicators: pl.DataFrame, latest_population: pl.DataFrame
) -> pl.DataFrame:
    """One row per commune, each indicator averaged over its published years.

    A commune without a value (suppressed by the FSO) gets the canton's median: the demo must not
    invent a gradient the sources do not show.
    """
    wide = (
        indicators.group_by("ofs_number", "indicator_code")
        .agg(pl.col("value").mean())
        .pivot(on="indicator_code", index="ofs_number", values="value")
    )
    profile = communes.join(wide, on="ofs_number", how="left").join(
        latest_population, on="ofs_number", how="left"
    )
    for code in indicator_codes():
        if code not in profile.columns:
            profile = profile.with_columns(pl.lit(None, dtype=pl.Float64).alias(code))
        profile = profile.with_columns(pl.col(code).fill_null(pl.col(code).median()))
    return profile.drop("population")


def needs_by_theme(profile: pl.DataFrame, latest_population: pl.DataFrame) -> pl.DataFrame:
    """need = Π (indicator / population-weighted canton mean) ** exponent, per theme and commune."""
    weighted = profile.join(latest_population, on="ofs_number")
    frames = []
    for theme in THEMES.values():
        need = pl.lit(1.0)
        for code, exponent in theme.needs.items():
            canton_mean = (weighted[code] * weighted["population"]).sum() / weighted[
                "population"
            ].sum()
            need = need * (pl.col(code) / canton_mean) ** exponent
        frames.append(
            profile.select(pl.lit(theme.code).alias("theme"), "ofs_number", need.alias("need"))
        )
    return pl.concat(frames)


def centroid_km(geometry: dict) -> tuple[float, float]:
    """Mean vertex of the largest outer ring, in km from the origin (enough to rank distances)."""
    polygons = (
        geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    )
    ring = max((polygon[0] for polygon in polygons), key=len)
    lon = sum(point[0] for point in ring) / len(ring)
    lat = sum(point[1] for point in ring) / len(ring)
    return (lon - ORIGIN_LON) * KM_PER_DEGREE_LON, (lat - ORIGIN_LAT) * KM_PER_DEGREE_LAT
