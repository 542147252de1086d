"""Load the reference data (data/reference/, themes, indicator definitions, periods) into the database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl

from etl.analysis import needs_model
from etl.paths import DATA_DIR, REFERENCE_DIR
from etl.steps.population import choose_reference_series, fill_series

FIRST_PERIOD_YEAR = 2009
NEEDS_MAPPING_FILE = "needs_mapping.csv"


def default_last_year() -> int:
    """Population is extended (carried forward) up to the current year."""
    return dt.date.today().year


def load(reference_dir: Path = REFERENCE_DIR, data_dir: Path = DATA_DIR) -> dict[str, pl.DataFrame]:
    schemas = {
        "communes": {"ofs_number": pl.Int32},
        "commune_aliases": {"ofs_number": pl.Int32},
        "population_published": {"ofs_number": pl.Int32, "year": pl.Int32, "population": pl.Int64},
        "indicators": {"ofs_number": pl.Int32, "year": pl.Int32, "value": pl.Float64},
        "canton_totals": {"year": pl.Int32, "value": pl.Float64},
    }
    frames = {
        name: pl.read_csv(reference_dir / f"{name}.csv", schema_overrides=overrides)
        for name, overrides in schemas.items()
    }
    frames["themes"] = pl.read_csv(data_dir / "themes.csv")
    frames["indicator_definitions"] = pl.read_csv(data_dir / "indicator_definitions.csv")
    frames["boundaries"] = read_boundaries(reference_dir)
    frames["needs_mapping"] = read_needs_mapping(
        data_dir / NEEDS_MAPPING_FILE, frames["themes"], frames["indicator_definitions"]
    )
    return frames


def read_needs_mapping(path: Path, themes: pl.DataFrame, definitions: pl.DataFrame) -> pl.DataFrame:
    """data/needs_mapping.csv, checked against the theme and indicator codes (DESIGN §5)."""
    return needs_model.parse_mapping(
        path.read_text(encoding="utf-8-sig"),
        f"data/{path.name}",
        set(themes["code"].to_list()),
        set(definitions["code"].to_list()),
    )


def read_boundaries(reference_dir: Path) -> pl.DataFrame:
    """One row per commune polygon plus the lake, geometry kept as GeoJSON text."""
    communes = json.loads((reference_dir / "communes.geojson").read_text(encoding="utf-8"))
    lake = json.loads((reference_dir / "lake.geojson").read_text(encoding="utf-8"))
    rows = [
        (
            "commune",
            f["properties"]["ofs_number"],
            f["properties"]["name"],
            json.dumps(f["geometry"]),
        )
        for f in communes["features"]
    ]
    rows += [("lac", None, "Léman", json.dumps(f["geometry"])) for f in lake["features"]]
    return pl.DataFrame(
        rows,
        schema={"kind": pl.Utf8, "ofs_number": pl.Int32, "name": pl.Utf8, "geojson": pl.Utf8},
        orient="row",
    )


def build_periods(first_year: int, last_year: int) -> pl.DataFrame:
    """Every year, quarter and month between two years, with start and end dates."""
    rows = []
    for year in range(first_year, last_year + 1):
        rows.append(
            (str(year), "annee", year, None, None, dt.date(year, 1, 1), dt.date(year, 12, 31))
        )
        for quarter in range(1, 5):
            start = dt.date(year, 3 * quarter - 2, 1)
            end = _month_end(year, 3 * quarter)
            rows.append((f"{year}-T{quarter}", "trimestre", year, quarter, None, start, end))
        for month in range(1, 13):
            rows.append(
                (
                    f"{year}-{month:02d}",
                    "mois",
                    year,
                    (month - 1) // 3 + 1,
                    month,
                    dt.date(year, month, 1),
                    _month_end(year, month),
                )
            )
    return pl.DataFrame(
        rows,
        schema=["code", "granularity", "year", "quarter", "month", "start_date", "end_date"],
        orient="row",
    )


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def build_population(published: pl.DataFrame, last_year: int) -> pl.DataFrame:
    filled = fill_series(published, last_year)
    reference = choose_reference_series(filled).select(
        "ofs_number", "year", "definition", pl.lit(True).alias("is_reference")
    )
    return filled.join(reference, on=["ofs_number", "year", "definition"], how="left").with_columns(
        pl.col("is_reference").fill_null(False)
    )


def save(con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Replace every reference table in one transaction; return the row counts."""
    con.execute("begin transaction")
    try:
        for name, frame in tables.items():
            con.register("incoming", frame.to_arrow())
            con.execute(f"delete from {name}")  # noqa: S608 — name comes from the dict above
            columns = ", ".join(frame.columns)
            con.execute(f"insert into {name} ({columns}) select {columns} from incoming")
            con.unregister("incoming")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return {name: frame.height for name, frame in tables.items()}


def run(con: duckdb.DuckDBPyConnection, last_year: int | None = None) -> dict[str, int]:
    last_year = last_year or default_last_year()
    frames = load()
    tables = {
        "communes": frames["communes"].select("ofs_number", "name", "area_km2", "area_km2_frwiki"),
        "commune_aliases": frames["commune_aliases"].select("alias", "alias_key", "ofs_number"),
        "boundaries": frames["boundaries"],
        "themes": frames["themes"],
        "periods": build_periods(FIRST_PERIOD_YEAR, last_year + 1),
        "population_published": frames["population_published"],
        "population": build_population(
            frames["population_published"].select("ofs_number", "year", "definition", "population"),
            last_year,
        ),
        "indicator_definitions": frames["indicator_definitions"],
        "indicators": frames["indicators"],
        "canton_totals": frames["canton_totals"],
        "needs_mapping": frames["needs_mapping"],
    }
    return save(con, tables)
