"""The public database file (DESIGN §6).

Everything that leaves the system (public pages, charts, tooltips, downloads, exports) reads one file,
`<base>_public.duckdb`, of the same release as the raw database (etl/release.py). It is rebuilt at
every publish, into the release being built, from the raw file's `public` schema (etl/schema/derived/090_public.sql and
friends): each view is materialised as a table of schema `public`, and the activity cubes go through
disclosure control on the way (etl/disclosure/): every count of 1 to 4 is withheld, other cells are
withheld so that no combination of published figures narrows a withheld 1–4 to fewer than five
values or below 5, and an audit that plays the attacker on all published tables stops the publish
when it finds a breach. A withheld count is NULL with `<column>_supprime = true`.

Rates and ratios are computed downstream from the published counts only, so a withheld count (NULL)
can only give a NULL rate. The public file holds no raw table at all, and the dashboard's public
connection attaches only that file with file access disabled (`open_public_reader`): a public page
cannot read raw data, even by mistake.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import duckdb
import polars as pl

from etl import release
from etl.analysis.gaps import gap_analysis_tables
from etl.analysis.signals import signal_tables
from etl.db import SCHEMA_VERSION, MissingDatabase
from etl.disclosure import (
    CUBE_KEYS,
    CUBE_MEASURES,
    QUARTER_CUBE,
    SMALLEST_PUBLISHED_COUNT,
    WHOLE_YEAR,
    YEAR_CUBE,
    protect_activity_cubes,
    suppressed_flag,
)
from etl.errors import UserError
from etl.incremental import FULL, Scope, by_years, combined

SUPPRESSED_SUFFIX = "_supprime"
PUBLIC_SCHEMA = "public"
# Names of the cubes and of their counts, used by the exports and the dashboard through this module.
__all__ = [
    "CUBE_KEYS",
    "CUBE_MEASURES",
    "QUARTER_CUBE",
    "SMALLEST_PUBLISHED_COUNT",
    "SUPPRESSED_SUFFIX",
    "WHOLE_YEAR",
    "YEAR_CUBE",
    "build_public_tables",
    "open_public_reader",
    "public_path",
    "publish_public",
    "suppressed_flag",
]


# Integer columns of public tables that are not counts of persons or acts, reviewed one by one:
# codes, years, reference statistics and counts of organisations, places or services (the directory
# of members and services is public). tests/test_disclosure.py fails on any other integer column
# that is not suppressed, so a new public count cannot slip through unreviewed.
REVIEWED_INTEGER_COLUMNS = frozenset(
    {
        "ofs_number",
        "year",
        "quarter",
        "month",
        "sort_order",
        "population",
        "n_communes",
        "n_estimated",
        "n_members",
        "n_members_partial",
        "n_periods",
        "n_periods_expected",
        "activity_rows",
        "first_year",
        "last_year",
        "latest_complete_year",
        "services_located",
        "services_serving",
        "members_serving",
        "service_no",
        "capacite",
        "communes_desservies",
        "smallest_published_count",
        # Gap analysis (etl/analysis/gaps.py): years, ranks, OFS numbers, counts of indicators and
        # of services (the directory is public).
        "value_year",
        "indicators_used",
        "indicators_missing",
        "neighbour_rank",
        "neighbour_ofs",
        "services_local",
        "services_canton_wide",
        "direction",  # of the needs mapping: +1 or -1
    }
)


# --- disclosure control: pure functions on Polars frames ----------------------------------------------


# --- the public database file ---------------------------------------------------------------------


def public_path(db_path: Path) -> Path:
    """The public file's name beside the raw one: data/observatoire_public.duckdb (a link to the
    current release's public file; readers that need the raw and public files of one release use
    `etl.release.current(db_path)`)."""
    db_path = Path(db_path)
    return db_path.with_name(release.public_file_name(db_path))


def public_layer_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables and views of the raw database's `public` schema (what may be published)."""
    rows = con.sql(
        """select table_name from information_schema.tables
           where table_catalog = current_database() and table_schema = ?
           order by table_name""",
        params=[PUBLIC_SCHEMA],
    ).fetchall()
    return [name for (name,) in rows]


def read_public_layer(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    return {
        name: con.sql(f'select * from {PUBLIC_SCHEMA}."{name}"').pl()
        for name in public_layer_names(con)
    }


def _fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A short hash of what the data is made of: the loaded files and the reference data."""
    parts = con.sql(
        """select
               -- a sum of hashes, not the slices written out in order: 0.13 s → 2 ms at 30×
               (select coalesce(sum(hash(member_code, period_code, sha256)), 0) || '/' || count(*)
                    from main.submissions),
               (select coalesce(sum(population), 0) from main.population),
               (select coalesce(sum(value), 0) from main.indicators),
               (select count(*) from main.communes),
               (select coalesce(string_agg(theme || '/' || indicator_code || '/' || weight || '/'
                    || direction, ',' order by theme, indicator_code), '') from main.needs_mapping)"""
    ).fetchall()[0]
    text = "|".join([SCHEMA_VERSION, *map(str, parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def release_row(
    con: duckdb.DuckDBPyConnection, published_at: dt.datetime, release_id: str | None = None
) -> pl.DataFrame:
    """One row describing this publication: version (date + content hash), date, rules applied,
    and the id of the release it belongs to (the raw file has the same in `release_info`)."""
    return pl.DataFrame(
        {
            "version": [f"{published_at:%Y.%m.%d}-{_fingerprint(con)}"],
            "published_at": [published_at.replace(microsecond=0)],
            "schema_version": [SCHEMA_VERSION],
            "smallest_published_count": [SMALLEST_PUBLISHED_COUNT],
            "release_id": [release_id],
        },
        schema_overrides={"release_id": pl.String},
    )


def build_public_tables(
    con: duckdb.DuckDBPyConnection,
    published_at: dt.datetime | None = None,
    release_id: str | None = None,
    scope: Scope = FULL,
) -> dict[str, pl.DataFrame]:
    """The tables of the public file, disclosure control applied (pure reads of the raw database).

    `scope` (etl/incremental.py): protect only its years and keep the other years' protected rows."""
    tables = read_public_layer(con)
    missing = {YEAR_CUBE, QUARTER_CUBE} - tables.keys()
    if missing:
        raise UserError(
            f"La couche publique de la base est incomplète (manque : {', '.join(sorted(missing))}). "
            "Reconstruisez la base avec la version actuelle de l'ETL."
        )
    tables[YEAR_CUBE], tables[QUARTER_CUBE] = protected_cubes(tables, scope)
    # From the protected cubes only (etl/analysis); year by year, so a load redoes its years only.
    tables.update(by_years(gap_analysis_tables, tables, scope))
    tables.update(signal_tables(tables))  # from the protected cubes only (DESIGN §5, §6)
    tables["release"] = release_row(con, published_at or dt.datetime.now(), release_id)
    return tables


def protected_cubes(
    tables: dict[str, pl.DataFrame], scope: Scope = FULL
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both activity cubes protected: every year, or the years of `scope` and its kept rows."""
    year_cube, quarter_cube = tables[YEAR_CUBE], tables[QUARTER_CUBE]
    if not scope.full:
        fresh_year, fresh_quarter, _ = protect_activity_cubes(
            year_cube, quarter_cube, tables, scope.years
        )
        keys = ["year", "theme", "lieu", "category"]
        try:
            return (
                combined(YEAR_CUBE, fresh_year, scope, keys),
                combined(QUARTER_CUBE, fresh_quarter, scope, [*keys[:1], "quarter", *keys[1:]]),
            )
        except KeyError:  # the kept rows are not in this shape: every year, below
            pass
    year_cube, quarter_cube, _ = protect_activity_cubes(year_cube, quarter_cube, tables)
    return year_cube, quarter_cube


def write_public_file(tables: dict[str, pl.DataFrame], path: Path) -> None:
    """Write the tables into a brand-new file at `path` (schema `public` only), completed under a
    temporary name then renamed."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partiel")
    temporary.unlink(missing_ok=True)
    out = duckdb.connect(str(temporary))
    try:
        out.execute(f"create schema {PUBLIC_SCHEMA}")
        for name, frame in tables.items():
            out.register("published_frame", frame)
            out.execute(f'create table {PUBLIC_SCHEMA}."{name}" as select * from published_frame')
            out.unregister("published_frame")
        out.execute("checkpoint")
        out.close()
        os.replace(temporary, path)
    finally:
        out.close()
        temporary.unlink(missing_ok=True)
        Path(f"{temporary}.wal").unlink(missing_ok=True)


def publish_public(con: duckdb.DuckDBPyConnection, db_path: Path, scope: Scope = FULL) -> Path:
    """Build the public file of the release of `db_path` being published, from its raw file (`con`).

    Called after `refresh_derived`, inside the `next_version` block: the public file goes into the
    same release as the raw file and is switched in with it, or not at all.
    """
    # Imported here: the feed runs the pages' queries through etl.exports, which imports this module.
    from etl.analysis.feed import feed_file_name, write_signals_feed

    build = release.building(db_path)
    tables = build_public_tables(con, release_id=build.id, scope=scope)
    write_public_file(tables, build.public)
    # The Atom feed of signals, a file of the release: switched in with the raw and public files.
    write_signals_feed(tables, build.path(feed_file_name(db_path)))
    return build.public


def open_public_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection that sees the public file and nothing else.

    The file is attached as `obs` (so `public.<table>` resolves to it), then file access and
    configuration are locked: no query can ATTACH the raw file, read a CSV or Parquet file, or undo
    the lock.
    """
    path = Path(path)
    missing = (
        f"La base publique {path} n'existe pas. Elle est créée à chaque publication : "
        "« observatoire init », « observatoire demo » ou un chargement de soumissions."
    )
    if not path.exists():
        raise MissingDatabase(missing)
    con = duckdb.connect(":memory:")
    escaped = str(path).replace("'", "''")
    try:
        con.execute(f"attach '{escaped}' as obs (read_only)")
    except duckdb.Error as exc:
        con.close()
        if not path.exists():  # deleted between the check and the attach
            raise MissingDatabase(missing) from exc
        raise UserError(f"La base publique {path} est illisible ou corrompue ({exc}).") from exc
    con.execute("use obs")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con
