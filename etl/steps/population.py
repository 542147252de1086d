"""Population for every commune × year: published, interpolated, or carried forward — never mixed.

Each definition (OCSTAT « population résidante », FSO STATPOP permanent residents) is filled on its own:
linear interpolation between two published years of the same definition, carry-forward after the last
one. The series used for rates (`choose_reference_series`) prefers the FSO value of a year and falls back
to OCSTAT, keeping the definition and status of every value so that pages can flag them.
"""

from __future__ import annotations

import polars as pl

from etl.vocabulary import CARRIED_FORWARD, INTERPOLATED, PUBLISHED

# Preferred definition first: FSO STATPOP is the series published yearly since 2010.
DEFINITION_PREFERENCE = ["ofs_statpop", "ocstat"]


def fill_series(published: pl.DataFrame, last_year: int) -> pl.DataFrame:
    """Every year from a series' first published year to `last_year`, flagged by how it was obtained.

    `published` has columns ofs_number, year, definition, population (one row per published value).
    """
    spans = published.group_by("ofs_number", "definition").agg(
        pl.col("year").min().alias("first_year"), pl.col("year").max().alias("last_published")
    )
    grid = spans.with_columns(
        pl.int_ranges(
            "first_year", pl.max_horizontal("last_published", pl.lit(last_year)) + 1
        ).alias("year")
    ).explode("year")
    filled = (
        grid.join(
            published.select("ofs_number", "definition", "year", "population"),
            on=["ofs_number", "definition", "year"],
            how="left",
        )
        .sort("ofs_number", "definition", "year")
        .with_columns(
            pl.col("population").is_not_null().alias("is_published"),
            # Years are consecutive in the grid, so interpolation by position is linear in the year.
            pl.col("population")
            .cast(pl.Float64)
            .interpolate()
            .forward_fill()
            .over("ofs_number", "definition")
            .alias("estimate"),
        )
    )
    return filled.select(
        pl.col("ofs_number").cast(pl.Int32),
        pl.col("year").cast(pl.Int32),
        "definition",
        pl.col("estimate").round(0).cast(pl.Int64).alias("population"),
        pl.when("is_published")
        .then(pl.lit(PUBLISHED))
        .when(pl.col("year") < pl.col("last_published"))
        .then(pl.lit(INTERPOLATED))
        .otherwise(pl.lit(CARRIED_FORWARD))
        .alias("status"),
    ).sort("ofs_number", "year", "definition")


def choose_reference_series(filled: pl.DataFrame) -> pl.DataFrame:
    """One value per commune × year: the preferred definition available that year."""
    rank = pl.col("definition").replace_strict(
        {d: i for i, d in enumerate(DEFINITION_PREFERENCE)}, default=len(DEFINITION_PREFERENCE)
    )
    return (
        filled.with_columns(rank.alias("_rank"))
        .sort("ofs_number", "year", "_rank")
        .unique(["ofs_number", "year"], keep="first", maintain_order=True)
        .drop("_rank")
    )
