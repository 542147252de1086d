"""Database access shared by the ETL, the command line and the dashboard's data module."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl

from etl import release
from etl.errors import UserError
from etl.incremental import FULL, Scope, stamp
from etl.paths import SCHEMA_DIR
from etl.vocabulary import RUN_STATUSES

SCHEMA_VERSION = "1"


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the base tables: the versioned files etl/schema/NNN_*.sql, in order (idempotent)."""
    for sql_file in sorted(SCHEMA_DIR.glob("*.sql")):
        con.execute(sql_file.read_text(encoding="utf-8"))
    migrate(con)
    con.execute("insert or replace into schema_info values ('schema_version', ?)", [SCHEMA_VERSION])


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a database created by an earlier version to the current schema (idempotent)."""
    _widen_run_statuses(con)


def _widen_run_statuses(con: duckdb.DuckDBPyConnection) -> None:
    """load_runs accepts every status of RUN_STATUSES ('retire' came with `observatoire retirer`).

    DuckDB cannot alter a CHECK constraint: the table is renamed, created anew by its schema file
    and refilled (same rows, same run ids; the id sequence is kept).
    """
    row = con.execute(
        """select expression from duckdb_constraints()
           where database_name = current_database() and schema_name = 'main'
             and table_name = 'load_runs' and constraint_type = 'CHECK'"""
    ).fetchone()
    if row is None or all(f"'{status}'" in row[0] for status in RUN_STATUSES):
        return
    con.execute("alter table load_runs rename to load_runs_before_migration")
    con.execute((SCHEMA_DIR / "003_load_runs.sql").read_text(encoding="utf-8"))
    con.execute("insert into load_runs select * from load_runs_before_migration")
    con.execute("drop table load_runs_before_migration")


def refresh_derived(con: duckdb.DuckDBPyConnection, scope: Scope = FULL) -> None:
    """Rebuild what is derived from the base tables (aggregates, public views) before publishing.

    Files in etl/schema/derived/ run in name order at every publish: views and small tables use
    `create or replace`; the large ones rebuild the years of temp.refresh_years and the members of
    temp.refresh_members, which `scope` names (etl/incremental.py; FULL: every year and member,
    the tables dropped first). The base schema is applied first (idempotent): a database created
    before a base table was added (needs_mapping) gets it, empty until the reference data is
    reloaded.
    """
    apply_schema(con)
    _refresh_scope(con, scope)
    for sql_file in sorted((SCHEMA_DIR / "derived").glob("*.sql")):
        con.execute(sql_file.read_text(encoding="utf-8"))
    stamp(con)


# Tables the derived files rebuild in part (by year or member); a full rebuild drops them first.
PARTLY_REBUILT = (
    "agg_member_year",
    "agg_member_period",
    "agg_activity_year_cube",
    "agg_activity_quarter_cube",
    "agg_tracker_periods",
)


def _refresh_scope(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    if scope.full:
        for table in PARTLY_REBUILT:
            con.execute(f"drop table if exists main.{table}")
        con.execute(
            "create or replace temp table refresh_years as select distinct year from main.periods"
        )
        con.execute(
            "create or replace temp table refresh_members as select code as member_code "
            "from main.members"
        )
        return
    con.execute(
        "create or replace temp table refresh_years as select unnest(?::integer[]) as year",
        [sorted(scope.years)],
    )
    con.execute(
        "create or replace temp table refresh_members as "
        "select unnest(?::varchar[]) as member_code",
        [sorted(scope.members)],
    )


def file_version(path: Path) -> tuple[int, int, int]:
    """Identity of the file now at `path`: changes whenever a new version is swapped in."""
    stat = os.stat(path)
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class MissingDatabase(UserError, release.FileGone):
    """The file to open is not there (a reader retries on the new release if it was replaced)."""


def open_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection on the raw file of the current release of the database `path`.

    A fresh in-memory instance ATTACHes the file, so a connection never serves an older version from
    DuckDB's instance cache; use one cursor per query when threads share it.
    """
    return release.read_current(path, lambda live: attach_read_only(live.raw, path))


def attach_read_only(
    file: Path, name: Path | None = None, missing: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection on one file, attached read-only as `obs` (`name`: the database in messages)."""
    name = name or file
    missing = missing or (
        f"La base de données {name} n'existe pas. Créez-la avec « observatoire init » "
        "(ou « observatoire demo » pour des données de démonstration)."
    )
    if not Path(file).exists():
        raise MissingDatabase(missing)
    con = duckdb.connect(":memory:")
    escaped = str(file).replace("'", "''")
    try:
        con.execute(f"attach '{escaped}' as obs (read_only)")
    except duckdb.Error as exc:
        con.close()
        if not Path(file).exists():  # deleted between the check and the attach
            raise MissingDatabase(missing) from exc
        raise UserError(f"La base de données {name} est illisible ou corrompue ({exc}).") from exc
    con.execute("use obs")
    return con


def query(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None
) -> pl.DataFrame:
    """Run one SELECT on its own cursor and return a Polars frame."""
    cur = con.cursor()
    try:
        cur.execute("use obs")
        return cur.sql(sql, params=params).pl()
    finally:
        cur.close()
