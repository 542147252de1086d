"""Normalise the raw reference compilation (data/reference/raw/) into the typed copy in data/reference/.

Run by a maintainer when the raw compilation changes (`python -m etl.steps.normalise_reference`);
both the raw files and the output are committed, so a build depends on nothing outside the repository.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.paths import RAW_REFERENCE_DIR, REFERENCE_DIR
from etl.text import normalise_key

# 2009 is OCSTAT's « population résidante »; every later year of population.csv is the FSO
# permanent resident population (2018 and 2022 come from Wikipedia lists that follow the FSO).
OCSTAT_YEARS_IN_MAIN_FILE = {2009}


def load(source_dir: Path) -> dict[str, pl.DataFrame]:
    """Read the raw CSV files with explicit types."""
    read = lambda name, **kw: pl.read_csv(source_dir / name, infer_schema_length=0, **kw)  # noqa: E731
    return {
        "communes": read("communes.csv"),
        "population": read("population.csv"),
        "population_other": read("population_other_definitions.csv"),
        "indicators": read("indicators.csv"),
        "canton_totals": read("canton_totals.csv"),
    }


def build_communes(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.select(
        pl.col("ofs_number").cast(pl.Int32),
        pl.col("name"),
        pl.col("area_km2").cast(pl.Float64),
        pl.col("area_km2_frwiki").cast(pl.Float64),
    ).sort("ofs_number")


def build_aliases(raw: pl.DataFrame) -> pl.DataFrame:
    """Every spelling that names a commune (official name included), with its matching key."""
    rows = []
    for ofs, name, aliases in raw.select("ofs_number", "name", "aliases").iter_rows():
        spellings = [name, *[a for a in (aliases or "").split("|") if a.strip()]]
        rows += [(a.strip(), normalise_key(a), int(ofs)) for a in spellings]
    frame = pl.DataFrame(rows, schema=["alias", "alias_key", "ofs_number"], orient="row")
    frame = frame.with_columns(pl.col("ofs_number").cast(pl.Int32))
    clashes = (
        frame.group_by("alias_key")
        .agg(pl.col("ofs_number").n_unique())
        .filter(pl.col("ofs_number") > 1)
    )
    if clashes.height:
        raise ValueError(f"ambiguous commune aliases: {clashes['alias_key'].to_list()}")
    return frame.unique(["alias_key"], keep="first").sort("ofs_number", "alias")


def build_population(main: pl.DataFrame, other: pl.DataFrame) -> pl.DataFrame:
    """Published values, each tagged with a definition code (ocstat / ofs_statpop)."""
    main = main.with_columns(pl.col("year").cast(pl.Int32)).with_columns(
        pl.when(pl.col("year").is_in(list(OCSTAT_YEARS_IN_MAIN_FILE)))
        .then(pl.lit("ocstat"))
        .otherwise(pl.lit("ofs_statpop"))
        .alias("definition_code")
    )
    # The 2015 fr.wikipedia values are probably OCSTAT; the « 2007 » column has no known definition
    # and is left out (see SOURCES.md).
    other = (
        other.with_columns(pl.col("year").cast(pl.Int32))
        .filter(pl.col("definition").str.contains("OCSTAT"))
        .with_columns(pl.lit("ocstat").alias("definition_code"))
    )
    columns = [
        pl.col("ofs_number").cast(pl.Int32),
        pl.col("year"),
        pl.col("definition_code").alias("definition"),
        pl.col("population").cast(pl.Int64),
        pl.col("definition").alias("definition_text"),
        "source",
        "source_url",
        "note",
    ]
    return pl.concat([main.select(columns), other.select(columns)]).sort(
        "ofs_number", "year", "definition"
    )


def build_indicators(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.select(
        pl.col("ofs_number").cast(pl.Int32),
        pl.col("year").cast(pl.Int32),
        "indicator_code",
        pl.col("value").cast(pl.Float64),
        "unit",
        "source",
        "source_url",
        pl.col("note"),
        # SOURCES.md: some reference years are inferred from the edition, not printed.
        pl.col("note")
        .fill_null("")
        .str.to_lowercase()
        .str.contains("inferred")
        .alias("year_inferred"),
    ).sort("indicator_code", "ofs_number", "year")


def build_canton_totals(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.with_columns(pl.col("year").cast(pl.Int32), pl.col("value").cast(pl.Float64))


def save(tables: dict[str, pl.DataFrame], target_dir: Path) -> None:
    target_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_csv(target_dir / f"{name}.csv")


def run(source_dir: Path = RAW_REFERENCE_DIR, target_dir: Path = REFERENCE_DIR) -> None:
    raw = load(source_dir)
    tables = {
        "communes": build_communes(raw["communes"]),
        "commune_aliases": build_aliases(raw["communes"]),
        "population_published": build_population(raw["population"], raw["population_other"]),
        "indicators": build_indicators(raw["indicators"]),
        "canton_totals": build_canton_totals(raw["canton_totals"]),
    }
    save(tables, target_dir)
    # Geometry is rebuilt from the FSO shapefiles by etl/steps/boundaries.py, not copied.


if __name__ == "__main__":
    run()
