"""Thematic coverage and white zones (DESIGN §5): which communes have a service of their own.

A service is **local** to a commune when it is located there or names the commune in
`communes_desservies`. A service declared for « tout le canton » serves every commune, but only
from where it is: for the other communes it is **canton-wide only**. Each theme × commune is then:

- `local`: at least one local service;
- `canton`: no local service, at least one canton-wide service;
- `aucun`: no service at all for the theme.

A **white zone** is a theme × commune without a local service (`canton` or `aucun`). It is a
**priority white zone** when the commune's need for the theme is high: its needs index is in the top
fifth of the 45 communes (at or above the 80th percentile) and above the canton's average (1).
"""

from __future__ import annotations

import polars as pl

LOCAL, CANTON_ONLY, NONE = "local", "canton", "aucun"
STATES = (LOCAL, CANTON_ONLY, NONE)
HIGH_NEED_QUANTILE = 0.8


def service_reach(services: pl.DataFrame, communes: pl.DataFrame) -> pl.DataFrame:
    """Per year × theme × commune served: located, local and canton-wide services, members.

    `services`: year, member_code, theme, ofs_number (where it is; may be null), communes_desservies
    (list of OFS numbers; the loader lists all 45 for « tout le canton »), tout_le_canton;
    `communes`: ofs_number of the 45.
    """
    pairs = services.with_row_index("service").join(
        communes.select(pl.col("ofs_number").alias("commune")), how="cross"
    )
    located = (pl.col("ofs_number") == pl.col("commune")).fill_null(False)
    whole_canton = pl.col("tout_le_canton").fill_null(False)
    # The loader lists all 45 communes for « tout le canton »: that names none of them.
    named = ~whole_canton & pl.col("communes_desservies").list.contains(pl.col("commune"))
    local = located | named.fill_null(False)
    canton_wide = whole_canton & ~local
    return (
        pairs.filter(local | canton_wide)
        .group_by("year", "theme", "commune")
        .agg(
            located.sum().cast(pl.Int64).alias("services_located"),
            local.sum().cast(pl.Int64).alias("services_local"),
            canton_wide.sum().cast(pl.Int64).alias("services_canton_wide"),
            pl.col("member_code").n_unique().cast(pl.Int64).alias("members_serving"),
        )
        .rename({"commune": "ofs_number"})
    )


def coverage_states(
    services: pl.DataFrame, communes: pl.DataFrame, themes: list[str], years: list[int]
) -> pl.DataFrame:
    """Every year × theme × commune with its services and its state (local / canton / aucun)."""
    grid = (
        pl.DataFrame({"year": years}, schema={"year": pl.Int32})
        .join(pl.DataFrame({"theme": themes}, schema={"theme": pl.String}), how="cross")
        .join(communes.select(pl.col("ofs_number").cast(pl.Int32)), how="cross")
    )
    reach = service_reach(services, communes).with_columns(
        pl.col("year").cast(pl.Int32), pl.col("ofs_number").cast(pl.Int32)
    )
    counts = ("services_located", "services_local", "services_canton_wide", "members_serving")
    return (
        grid.join(reach, on=["year", "theme", "ofs_number"], how="left")
        .with_columns(pl.col(c).fill_null(0) for c in counts)
        .with_columns(
            (pl.col("services_local") + pl.col("services_canton_wide")).alias("services_serving"),
            pl.when(pl.col("services_local") > 0)
            .then(pl.lit(LOCAL))
            .when(pl.col("services_canton_wide") > 0)
            .then(pl.lit(CANTON_ONLY))
            .otherwise(pl.lit(NONE))
            .alias("coverage_state"),
        )
        .sort("year", "theme", "ofs_number")
    )


def with_priority(states: pl.DataFrame, needs: pl.DataFrame) -> pl.DataFrame:
    """Add needs_index, high_need and priority_white_zone (no local service and high need).

    `needs`: theme, year, ofs_number, needs_index (themes without indicators: no row, index 1).
    """
    threshold = pl.col("needs_index").quantile(HIGH_NEED_QUANTILE, "linear").over("theme", "year")
    return (
        states.join(
            needs.select("theme", "year", "ofs_number", "needs_index"),
            on=["theme", "year", "ofs_number"],
            how="left",
        )
        .with_columns(pl.col("needs_index").fill_null(1.0))
        .with_columns(
            ((pl.col("needs_index") >= threshold) & (pl.col("needs_index") > 1)).alias("high_need")
        )
        .with_columns(
            ((pl.col("coverage_state") != LOCAL) & pl.col("high_need")).alias("priority_white_zone")
        )
    )
