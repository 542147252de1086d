"""Whole-database operations: create, reload the reference data, record provenance."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from etl import db, public, release
from etl.paths import DATA_DIR, REFERENCE_DIR
from etl.publish import next_version
from etl.steps import load_reference
from etl.submission import members
from etl.vocabulary import RUN_LOADED

USER_ENV_VAR = "OBSERVATOIRE_USER"


def current_user() -> str:
    """Who runs the ETL, for load_runs: $OBSERVATOIRE_USER or the system account."""
    return os.environ.get(USER_ENV_VAR) or getpass.getuser()


def sha256_of_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def reference_files() -> list[Path]:
    return [
        *REFERENCE_DIR.glob("*.csv"),
        *REFERENCE_DIR.glob("*.geojson"),
        DATA_DIR / "themes.csv",
        DATA_DIR / "indicator_definitions.csv",
        DATA_DIR / "needs_mapping.csv",
    ]


def record_run(
    con: duckdb.DuckDBPyConnection,
    *,
    started_at: dt.datetime,
    kind: str,
    status: str,
    file_name: str | None = None,
    sha256: str | None = None,
    member_code: str | None = None,
    period_code: str | None = None,
    rows_accepted: int = 0,
    rows_rejected: int = 0,
    message: str | None = None,
    username: str | None = None,
) -> int:
    """Append one row to load_runs and return its id."""
    return con.execute(
        """insert into load_runs (started_at, finished_at, username, kind, file_name, sha256,
               member_code, period_code, rows_accepted, rows_rejected, status, message)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning run_id""",
        [
            started_at,
            dt.datetime.now(),
            username or current_user(),
            kind,
            file_name,
            sha256,
            member_code,
            period_code,
            rows_accepted,
            rows_rejected,
            status,
            message,
        ],
    ).fetchall()[0][0]


def _load_reference(
    con: duckdb.DuckDBPyConnection, kind: str, progress: Callable[[str], None]
) -> dict[str, int]:
    started = dt.datetime.now()
    progress("schéma")
    db.apply_schema(con)
    progress("données de référence")
    counts = load_reference.run(con)
    if members.REGISTRY_PATH.exists():  # the members registry is data too (docs/SOUMISSIONS.md)
        progress("registre des membres")
        counts["members"] = members.register(con, members.REGISTRY_PATH, is_demo=False)
    progress("agrégats et vues publiques")
    db.refresh_derived(con)
    record_run(
        con,
        started_at=started,
        kind=kind,
        status=RUN_LOADED,
        file_name="data/reference",
        sha256=sha256_of_files(reference_files()),
        rows_accepted=sum(counts.values()),
        message=", ".join(f"{name}: {n}" for name, n in counts.items()),
    )
    return counts


def init_database(
    db_path: Path, progress: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Create a new database holding only the reference data (replaces any previous file)."""
    with next_version(db_path, from_scratch=True) as con:
        counts = _load_reference(con, "init", progress)
        public.publish_public(con, db_path)
        return counts


def reload_reference(
    db_path: Path, progress: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Reload the reference tables into the existing database, keeping the submissions."""
    if not release.exists(db_path):
        return init_database(db_path, progress)
    with next_version(db_path) as con:
        counts = _load_reference(con, "reference", progress)
        public.publish_public(con, db_path)
        return counts
