"""The dashboard's only door to the database: read-only connection, named queries, caches.

Pages import no duckdb and hold no SQL: they call `run("query_name", param=value)`, which checks
the name and parameters (etl/queries.py, the runner the exports and the CLI share), binds them
(`$name` in the SQL) and returns a Polars frame, cached per file version. Each run follows the
release pointer once (etl/release.py): when the ETL switches to a new release, the next run sees new
files, attaches them and leaves the old connections to be evicted.
"""

from __future__ import annotations

import datetime as dt
import queue
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from etl import db as etl_db
from etl import release
from etl.errors import UserError
from etl.paths import REFERENCE_DIR, database_path
from etl.public import open_public_reader
from etl.queries import (  # noqa: F401 (QueryError, query_parameters: read by tests and benches)
    QueryError,
    bound_parameters,
    check_parameters,
    query_parameters,
    query_text,
)


class DatabaseUnavailable(Exception):
    """The database file is missing or unreadable: pages show a French message and stop."""


# --- connection ---------------------------------------------------------------------------------------


def _message_missing(path: Path) -> str:
    return (
        f"La base de données de l'observatoire est introuvable ({path}). "
        "Elle est peut-être en cours de création : réessayez dans un instant. "
        "Pour la créer : « make demo » (données de démonstration) ou « observatoire init »."
    )


def _current_file(pick) -> tuple[Path, tuple[int, int, int]]:
    """A file of the current release and its version (the pointer read again if the release was
    replaced twice while this run looked at it)."""
    try:
        return release.read_current(
            database_path(), lambda live: (pick(live), etl_db.file_version(pick(live)))
        )
    except FileNotFoundError:
        raise DatabaseUnavailable(
            _message_missing(pick(release.current(database_path())))
        ) from None


def _current_version() -> tuple[Path, tuple[int, int, int]]:
    """The public file of the current release (suppressed figures only, DESIGN §6) and its version:
    what `run` reads."""
    return _current_file(lambda live: live.public)


class _Reader:
    """A read-only connection and the cursors it lent before, reused one query at a time.

    Threads (one per session's script run) cannot share a cursor, so each query borrows one; keeping
    returned cursors saves creating one and re-selecting the attached file for every query.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._idle: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()

    def query(self, sql: str, params: dict) -> pl.DataFrame:
        try:
            cursor = self._idle.get_nowait()
        except queue.Empty:
            cursor = self.con.cursor()
            cursor.execute("use obs")
        try:
            frame = cursor.sql(sql, params=params).pl()
        except BaseException:
            cursor.close()  # a failed query's cursor is not lent again
            raise
        self._idle.put(cursor)
        return frame


@st.cache_resource(max_entries=2, show_spinner=False)
def _reader(path: str, version: tuple[int, int, int]) -> _Reader:
    """One read-only connection per version of the PUBLIC file, locked so it can attach nothing
    else (`version` is only part of the cache key)."""
    try:
        return _Reader(open_public_reader(Path(path)))
    except UserError as exc:
        raise DatabaseUnavailable(str(exc)) from exc


@st.cache_resource(max_entries=2, show_spinner=False)
def _admin_reader(path: str, version: tuple[int, int, int]) -> _Reader:
    """One read-only connection per version of the RAW file (secretariat only)."""
    try:
        return _Reader(etl_db.attach_read_only(Path(path)))
    except UserError as exc:
        raise DatabaseUnavailable(str(exc)) from exc


def _query(reader: _Reader, name: str, params: tuple, path: str) -> pl.DataFrame:
    bound = bound_parameters(dict(params))
    try:
        return reader.query(query_text(name), bound)
    except duckdb.CatalogException as exc:
        # A database built before a schema change lacks the views this query reads.
        raise DatabaseUnavailable(
            f"La base de données ({path}) ne contient pas ce que la page attend ({exc}). "
            "Reconstruisez-la avec la version actuelle de l'ETL."
        ) from exc
    except duckdb.IOException as exc:
        # A file that opens but cannot be read to the end (truncated copy, damaged disk).
        raise DatabaseUnavailable(
            f"La base de données ({path}) est illisible ou corrompue ({exc}). "
            "Restaurez la dernière sauvegarde ou republiez-la avec l'ETL."
        ) from exc


# The cached functions are called with keywords: Streamlit looks up the name of every positional
# argument (inspect.signature) at each call, a third of the data layer's overhead on small queries.
@st.cache_data(max_entries=1024, show_spinner=False)
def _run_cached(name: str, params: tuple, path: str, version: tuple[int, int, int]) -> pl.DataFrame:
    return _query(_reader(path=path, version=version), name, params, path)


@st.cache_data(max_entries=64, show_spinner=False)
def _run_admin_cached(
    name: str, params: tuple, path: str, version: tuple[int, int, int]
) -> pl.DataFrame:
    return _query(_admin_reader(path=path, version=version), name, params, path)


def _frozen(params: dict) -> tuple:
    return tuple(
        sorted((k, tuple(v) if isinstance(v, list | set) else v) for k, v in params.items())
    )


def public_version() -> tuple[str, tuple[int, int, int]]:
    """The public file the next `run` reads and its version: the key of what is computed from
    query results (dashboard/derived_cache.py). DatabaseUnavailable as `run` when it is missing."""
    path, version = _current_version()
    return str(path), version


def run(query_name: str, **params: object) -> pl.DataFrame:
    """Run `queries/<query_name>.sql` with bound parameters against the PUBLIC file; a Polars frame,
    cached per file version. Every public page, chart, tooltip and download reads through here."""
    check_parameters(query_name, params)
    path, version = _current_version()
    return _run_cached(name=query_name, params=_frozen(params), path=str(path), version=version)


def run_admin(query_name: str, **params: object) -> pl.DataFrame:
    """The same against the RAW file (unsuppressed figures, non-public observations).

    Only the Administration page calls it, once the secretariat is signed in
    (tests/test_disclosure.py checks that no other page does).
    """
    check_parameters(query_name, params)
    path, version = _current_file(lambda live: live.raw)
    return _run_admin_cached(
        name=query_name, params=_frozen(params), path=str(path), version=version
    )


def stop_if_unavailable(error: DatabaseUnavailable) -> None:
    """Show the French message and stop this run; the next run retries (the file may be back)."""
    st.error(str(error), icon=":material/database:")
    st.stop()


# --- small helpers shared by pages ------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseInfo:
    last_load_at: dt.datetime | None
    has_demo: bool
    first_year: int | None
    last_year: int | None
    latest_complete_year: int | None
    activity_rows: int
    version: str | None = None  # of the public file (date + content hash)
    published_at: dt.datetime | None = None
    smallest_published_count: int = 5  # counts below it are suppressed (DESIGN §6)

    @property
    def years(self) -> list[int]:
        if self.first_year is None or self.last_year is None:
            return []
        return list(range(self.first_year, self.last_year + 1))


def db_info() -> DatabaseInfo:
    """Freshness and provenance: last load, demo flag, years with activity, latest complete year."""
    row = run("database_status").row(0, named=True)
    return DatabaseInfo(
        last_load_at=row["last_load_at"],
        has_demo=bool(row["has_demo"]),
        first_year=row["first_year"],
        last_year=row["last_year"],
        latest_complete_year=row["latest_complete_year"],
        activity_rows=int(row["activity_rows"]),
        version=row["version"],
        published_at=row["published_at"],
        smallest_published_count=row["smallest_published_count"] or 5,
    )


def themes() -> pl.DataFrame:
    """code, label_fr, label_en, sort_order — in the taxonomy's order."""
    return run("ref_themes")


def communes() -> pl.DataFrame:
    """ofs_number, name — the 45 communes in alphabetical order."""
    return run("ref_communes")


def member_categories() -> list[str]:
    """The member categories present in the database, sorted."""
    return run("ref_member_categories")["category"].to_list()


def sources_markdown() -> str | None:
    """data/reference/SOURCES.md, shown on the methodology page, when it exists."""
    path = REFERENCE_DIR / "SOURCES.md"
    return path.read_text(encoding="utf-8") if path.exists() else None
