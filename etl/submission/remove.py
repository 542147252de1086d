"""Remove loaded slices (member × period): `observatoire retirer`.

A slice is what a file loaded for one member and one period (docs/SOUMISSIONS.md §6). A corrected
file replaces its slice by itself; removing is for what no file can replace: a file loaded under the
wrong member or period, or an annual declaration that quarters now replace (the aggregates keep the
coarsest granularity of a member's year, so the year would hide the quarters).

Removing deletes the slice's activity, services and observations rows and its line in `submissions`,
records one `load_runs` row per slice (kind 'retrait', status 'retire': who, when, why, what was
removed), and publishes a new version of the database with its aggregates and public file, in one
atomic step: an error or a kill at any point leaves the previous version untouched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from etl import db, incremental, public
from etl.build import current_user, record_run
from etl.errors import UserError
from etl.publish import next_version
from etl.vocabulary import RUN_REMOVED

RUN_KIND = "retrait"
RUN_STATUS = RUN_REMOVED
SLICE_TABLES = ("activity", "services", "observations")


@dataclass(frozen=True)
class LoadedSlice:
    member_code: str
    period_code: str
    file_name: str
    loaded_at: dt.datetime
    rows: dict[str, int]  # rows per table of SLICE_TABLES

    def summary(self) -> str:
        """« 120 lignes d'activité, 3 services, 2 observations »."""
        activity, services, observations = (self.rows[table] for table in SLICE_TABLES)
        return (
            f"{activity} ligne(s) d'activité, {services} service(s), {observations} observation(s)"
        )


def _member_code(con: duckdb.DuckDBPyConnection, written: str) -> str:
    wanted = written.strip().upper()
    codes = [row[0] for row in con.execute("select code from members").fetchall()]
    for code in codes:
        if code.upper() == wanted:
            return code
    raise UserError(
        f"Membre inconnu : « {written} ». Le code attendu est celui du registre des membres "
        "(data/members.csv, colonne code ; page Administration, onglet Suivi des envois)."
    )


def _loaded_periods(con: duckdb.DuckDBPyConnection, member: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            """select s.period_code from submissions as s
               join periods as p on p.code = s.period_code
               where s.member_code = ? order by p.start_date, p.end_date""",
            [member],
        ).fetchall()
    ]


def _slice(con: duckdb.DuckDBPyConnection, member: str, period: str) -> LoadedSlice | None:
    found = con.execute(
        "select file_name, loaded_at from submissions where member_code = ? and period_code = ?",
        [member, period],
    ).fetchone()
    if found is None:
        return None
    rows = {
        table: con.execute(
            f"select count(*) from {table} where member_code = ? and period_code = ?",  # noqa: S608
            [member, period],
        ).fetchone()[0]
        for table in SLICE_TABLES
    }
    return LoadedSlice(member, period, found[0], found[1], rows)


def find_slices(
    con: duckdb.DuckDBPyConnection, member: str, periods: list[str]
) -> list[LoadedSlice]:
    """The loaded slices named, with their row counts; a French UserError if one is not loaded."""
    if not periods:
        raise UserError(
            "Indiquez au moins une période à retirer (par exemple 2024, 2024-T1, 2024-03)."
        )
    code = _member_code(con, member)
    slices, missing = [], []
    for written in dict.fromkeys(period.strip().upper() for period in periods):
        found = _slice(con, code, written)
        if found is None:
            missing.append(written)
        else:
            slices.append(found)
    if missing:
        loaded = _loaded_periods(con, code)
        listed = ", ".join(loaded) if loaded else "aucune"
        raise UserError(
            f"Rien n'est chargé pour {code} × {', '.join(missing)} : rien n'a été retiré. "
            f"Périodes chargées pour ce membre : {listed}. "
            "Une période s'écrit 2024 (année), 2024-T1 (trimestre) ou 2024-03 (mois)."
        )
    return slices


def preview_removal(db_path: Path, member: str, periods: list[str]) -> list[LoadedSlice]:
    """What `remove_slices` would remove, read from the published file (nothing written)."""
    con = db.open_reader(db_path)
    try:
        return find_slices(con, member, periods)
    finally:
        con.close()


def _delete(con: duckdb.DuckDBPyConnection, loaded: LoadedSlice, reason: str, user: str) -> None:
    started = dt.datetime.now()
    for table in (*SLICE_TABLES, "submissions"):
        con.execute(
            f"delete from {table} where member_code = ? and period_code = ?",  # noqa: S608
            [loaded.member_code, loaded.period_code],
        )
    record_run(
        con,
        started_at=started,
        kind=RUN_KIND,
        status=RUN_STATUS,
        file_name=loaded.file_name,
        member_code=loaded.member_code,
        period_code=loaded.period_code,
        message=(
            f"retiré : {loaded.summary()} (fichier {loaded.file_name}, chargé le "
            f"{loaded.loaded_at:%d.%m.%Y à %H:%M}) — motif : {reason}"
        )[:1000],
        username=user,
    )


def remove_slices(
    db_path: Path,
    member: str,
    periods: list[str],
    *,
    reason: str,
    user: str | None = None,
    full: bool = False,
) -> list[LoadedSlice]:
    """Remove the slices and publish the new version (see the module docstring): the years they
    touch are rebuilt (etl/incremental.py), or every year with `full`."""
    reason = reason.strip()
    if not reason:
        raise UserError(
            "Indiquez le motif du retrait (--motif) : il est gardé dans l'historique des chargements."
        )
    if not Path(db_path).exists():
        raise UserError(f"La base de données {db_path} n'existe pas.")
    user = user or current_user()
    with next_version(db_path) as con:
        db.migrate(con)  # a database created before removals existed accepts their status
        slices = find_slices(con, member, periods)
        for loaded in slices:
            _delete(con, loaded, reason, user)
        removed = [(loaded.member_code, loaded.period_code) for loaded in slices]
        scope = incremental.slices_scope(con, db_path, removed, full=full)
        db.refresh_derived(con, scope)
        public.publish_public(con, db_path, scope)
    return slices
