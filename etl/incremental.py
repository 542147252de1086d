"""Small loads (issue #19): a load rebuilds only the years, and the members, that it touches.

A load replaces, adds or removes member × period slices. Everything a publish derives is built per
year (a period never crosses a year; the aggregates group by year; disclosure control protects one
year at a time, etl/disclosure/__init__.py) or per member (the Administration tracker), so the years
of those slices are the only ones whose aggregates and protected cubes can change. Such a publish:

- recomputes the aggregates of those years (etl/schema/derived/050, delete + insert) and the
  tracker of those members (070); the views and small reference tables are rebuilt as always;
- protects and audits those years only, and keeps the other years' protected rows from the public
  file of the release it starts from;
- recomputes every other public table in full from the protected cubes (gap analysis, signals:
  under a second at 30× the demo volume; signals read the quarterly history across years).

It does so only where the kept rows are provably those a full rebuild would give: the release it
starts from has a public file, of the same release as the raw file copied (release id), and both
were derived by this very code (`code_version`, kept in the raw file's `derived_info`). Otherwise,
for every other publish (reference data, members registry, `observatoire demo`, a restore), and
when OBSERVATOIRE_RECONSTRUCTION_COMPLETE=1, everything is rebuilt. tests/test_incremental.py
checks that both give the same tables, row for row.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from etl import release
from etl.paths import ROOT

FORCE_FULL_ENV = "OBSERVATOIRE_RECONSTRUCTION_COMPLETE"
DERIVED_INFO = "main.derived_info"
YEAR_CUBE, QUARTER_CUBE = "activity_year_cube", "activity_quarter_cube"
# What derives the aggregates and the public file: a change to any of these rebuilds everything.
CODE_SOURCES = (
    "etl/schema/*.sql",
    "etl/schema/derived/*.sql",
    "etl/db.py",
    "etl/public.py",
    "etl/incremental.py",
    "etl/disclosure/*.py",
    "etl/analysis/*.py",
)


class Kept:
    """The rows of the previous public file outside the years rebuilt, read once per table asked."""

    def __init__(self, public: Path, years: frozenset[int]) -> None:
        self.public, self.years, self._read = public, years, {}

    def get(self, name: str) -> pl.DataFrame | None:
        """Table `name` of the previous public file less the years rebuilt (None: no such table
        or no `year` column)."""
        if name not in self._read:
            self._read[name] = self._rows(name)
        return self._read[name]

    def _rows(self, name: str) -> pl.DataFrame | None:
        previous = _open_public(self.public)
        try:
            frame = previous.sql(f'select * from public."{name}"').pl()
        except duckdb.CatalogException:
            return None
        finally:
            previous.close()
        if "year" not in frame.columns:
            return None
        return frame.filter(~pl.col("year").is_in(sorted(self.years)))


@dataclass(frozen=True)
class Scope:
    """What one publish rebuilds: everything (`years` None) or the aggregates of `years` and the
    tracker of `members`, the other years' rows of the public tables built by year taken from
    `kept` (the previous public file)."""

    years: frozenset[int] | None = None
    members: frozenset[str] = frozenset()
    kept: Kept | None = None
    reason: str = "reconstruction complète"

    @property
    def full(self) -> bool:
        return self.years is None


FULL = Scope()


def code_version() -> str:
    """A hash of the code that derives the aggregates and the public file."""
    digest = hashlib.sha256()
    for pattern in CODE_SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def stamp(con: duckdb.DuckDBPyConnection) -> None:
    """Record in the raw file which code derived its aggregates (the next load compares)."""
    con.execute(f"create table if not exists {DERIVED_INFO} (code_version varchar)")
    con.execute(f"delete from {DERIVED_INFO}")
    con.execute(f"insert into {DERIVED_INFO} values (?)", [code_version()])


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.CatalogException:  # a database derived before the table existed
        return None
    return rows[0][0] if rows else None


def _open_public(path: Path) -> duckdb.DuckDBPyConnection:
    """The previous public file, read-only, as the pages open it (etl.public imports this module,
    hence the import here)."""
    from etl.public import open_public_reader

    return open_public_reader(path)


def _previous_public(db_path: Path) -> Path | None:
    public = release.current(db_path).public
    return public if public.exists() else None


def _why_full(con: duckdb.DuckDBPyConnection, public: Path | None, asked: bool) -> str | None:
    """Why the publish rebuilds everything: asked for, or the kept rows could differ from a full
    rebuild's (None: neither)."""
    if asked:
        return "reconstruction complète demandée"
    if os.environ.get(FORCE_FULL_ENV, "") not in ("", "0"):
        return f"reconstruction complète demandée ({FORCE_FULL_ENV})"
    if public is None:
        return "pas de fichier public précédent"
    if _scalar(con, f"select code_version from {DERIVED_INFO}") != code_version():
        return "base dérivée par une autre version du code"
    raw_release = _scalar(con, "select release_id from main.release_info")
    try:
        previous = _open_public(public)
    except duckdb.Error:
        public_release = None
    else:
        try:
            public_release = _scalar(previous, "select release_id from public.release")
        finally:
            previous.close()
    if raw_release is None or public_release != raw_release:
        return "fichier public précédent d'une autre version"
    return None


def slices_scope(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    slices: Iterable[tuple[str, str]],
    *,
    full: bool = False,
) -> Scope:
    """The scope of a publish that replaced, added or removed `slices` (member, period) in `con`
    (the new release's raw file, its aggregates not yet refreshed): FULL where `full` asks for it
    (`--complet`) or where the kept rows cannot be proven."""
    slices = list(slices)
    public = _previous_public(db_path)
    reason = _why_full(con, public, full)
    if reason is not None:
        return Scope(reason=reason)
    periods = sorted({period for _, period in slices})
    rows = con.execute(
        "select distinct year from main.periods where list_contains(?, code)", [periods]
    ).fetchall()
    years = frozenset(year for (year,) in rows)
    members = frozenset(member for member, _ in slices)
    return Scope(years, members, Kept(public, years), reason="")


def combined(name: str, fresh: pl.DataFrame, scope: Scope, keys: list[str]) -> pl.DataFrame:
    """Table `name` of the years just rebuilt (`fresh`) and of the kept years, sorted on `keys`.

    Raises KeyError where the previous public file cannot give the kept rows in the same shape
    (the caller then rebuilds the table in full)."""
    kept = scope.kept.get(name) if scope.kept is not None else None
    if kept is None or kept.schema != fresh.schema:
        raise KeyError(name)
    return pl.concat([kept, fresh]).sort(keys, maintain_order=True)


def by_years(
    compute: Callable[[dict[str, pl.DataFrame]], dict[str, pl.DataFrame]],
    tables: dict[str, pl.DataFrame],
    scope: Scope,
) -> dict[str, pl.DataFrame]:
    """`compute(tables)` for public tables built year by year from the protected cubes (the gap
    analysis): for the scope's years only, the other years' rows kept; in full where the scope is
    full or some table it returns is not by year."""
    if scope.full:
        return compute(tables)
    chosen = pl.col("year").is_in(sorted(scope.years))
    fresh = compute(
        {**tables, **{name: tables[name].filter(chosen) for name in (YEAR_CUBE, QUARTER_CUBE)}}
    )
    try:
        return {name: combined(name, frame, scope, ["year"]) for name, frame in fresh.items()}
    except KeyError:
        return compute(tables)
