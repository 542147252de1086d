"""Validate and load members' files: one atomic publish per call, one slice replaced per member × period.

A file with any error loads nothing; an identical file (same sha256 as the slice's current file)
is reported as already loaded; each file is written in its own transaction on the copy made by
`etl.publish.next_version`, so a failure or a kill at any point leaves the published database as it
was. Every attempt, failed or not, is recorded in `load_runs`.
"""

from __future__ import annotations

import datetime as dt
import errno
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from etl import db, incremental, public
from etl.build import current_user, record_run
from etl.errors import UserError
from etl.publish import next_version
from etl.submission.batch import checked_files
from etl.submission.lookups import Lookups
from etl.submission.results import (
    ALREADY_LOADED,
    ERROR,
    FAILED,
    LOADED,
    REJECTED,
    REPLACED,
    VALID,
    FileResult,
    Issue,
)
from etl.submission.validate import CheckedFile, ValidatedFile, finish

__all__ = ["FileResult", "Issue", "load_files", "validate_files"]

RUN_KIND = "soumission"
Progress = Callable[[str], None]
# A member's file is a few hundred kilobytes; the Administration page accepts 10 MB, and
# `observatoire charger` the same by default (--taille-max, or OBSERVATOIRE_TAILLE_MAX_MO).
DEFAULT_MAX_FILE_MB = 10
# What a full disk (or a disk that fails) raises while the new version is written: the version is
# discarded and the published database stays as it was.
WRITE_ERRORS = (
    duckdb.IOException,
    duckdb.TransactionException,
    duckdb.FatalException,
    duckdb.OutOfMemoryException,
    OSError,
)


def _no_progress(_: str) -> None:
    pass


def _check_inputs(paths: list[Path], db_path: Path) -> list[Path]:
    paths = [Path(path) for path in paths]
    if not paths:
        raise UserError("Aucun fichier indiqué.")
    folders = [str(path) for path in paths if path.is_dir()]
    if folders:
        raise UserError(
            f"Dossier(s) indiqué(s) au lieu de fichiers : {', '.join(folders)}. Indiquez les "
            "fichiers eux-mêmes (par exemple dossier/*.xlsx)."
        )
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise UserError(f"Fichier(s) introuvable(s) : {', '.join(missing)}.")
    if not Path(db_path).exists():
        raise UserError(
            f"La base de données {db_path} n'existe pas. Créez-la avec « observatoire init »."
        )
    return paths


def _write_failed(db_path: Path, error: Exception) -> str:
    """A French sentence for a database that could not be written (full disk) or read (damaged
    file, failing disk) while the new version was built: nothing was loaded."""
    folder = Path(db_path).resolve().parent
    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(
        error
    ):
        return (
            f"La nouvelle version de la base n'a pas pu être écrite : le disque du dossier {folder} "
            "est plein. Rien n'a été chargé et la base publiée est restée telle qu'elle était. "
            "Libérez de la place (il en faut au moins deux fois la taille de la base), puis "
            "relancez la commande."
        )
    return (
        f"La base de données {db_path} n'a pas pu être lue ou écrite ({type(error).__name__}) : "
        "fichier endommagé ou disque défaillant. Rien n'a été modifié : la base publiée est "
        "restée telle qu'elle était. Restaurez la dernière sauvegarde (deploy/README.md) ou "
        "vérifiez le disque, puis recommencez."
    )


def _result(validated: ValidatedFile, status: str, *, dry_run: bool = False) -> FileResult:
    slices = [tuple(row) for row in validated.slices.iter_rows()]
    members = {member for member, _ in slices}
    periods = {period for _, period in slices}
    return FileResult(
        file_name=validated.raw.file_name,
        sha256=validated.raw.sha256,
        status=status,
        member_code=next(iter(members)) if len(members) == 1 else None,
        member_name=validated.member_names.get(next(iter(members))) if len(members) == 1 else None,
        period_code=next(iter(periods)) if len(periods) == 1 else None,
        rows_accepted=validated.rows_accepted,
        rows_rejected=validated.rows_rejected,
        rows_skipped=validated.rows_skipped,
        issues=validated.issue_list(),
        issues_total=validated.issues.height,
        slices=slices,
        counts={
            "activite": validated.activity.height,
            "services": validated.services.height,
            "observations": validated.observations.height,
        },
        dry_run=dry_run,
    )


def _status_without_errors(validated: ValidatedFile, lookups: Lookups) -> str:
    """Already loaded (every slice's current file is this one), replacing, or new."""
    current = validated.slices.join(
        lookups.submissions.select("member_code", "period_code", "sha256"),
        on=["member_code", "period_code"],
        how="left",
    )
    if current.height and current["sha256"].eq_missing(validated.raw.sha256).all():
        return ALREADY_LOADED
    return REPLACED if current["sha256"].is_not_null().any() else LOADED


def validate_files(
    paths: list[Path], db_path: Path, *, max_bytes: int | None = None
) -> list[FileResult]:
    """Check files against the rules and the database, writing nothing. `max_bytes`: a file
    larger than this is refused unread (None: no limit)."""
    paths = _check_inputs(paths, db_path)
    con = db.open_reader(db_path)
    try:
        lookups = Lookups.from_db(con)
        return [
            _result(validated, REJECTED if validated.has_errors else VALID)
            for validated in (
                finish(checked, lookups)
                for checked in checked_files(paths, lookups, _no_progress, max_bytes)
            )
        ]
    finally:
        con.close()


def load_files(
    paths: list[Path],
    db_path: Path,
    *,
    dry_run: bool = False,
    user: str | None = None,
    progress: Progress | None = None,
    is_demo: bool = False,
    max_bytes: int | None = None,
    full: bool = False,
) -> list[FileResult]:
    """Validate and load files; all of them in one new version of the database (one publish).

    A full or failing disk discards the new version: UserError, and the published database stays
    as it was. `max_bytes`: a file larger than this is refused unread (None: no limit). The
    publish rebuilds the years the files touch (etl/incremental.py), or every year with `full`."""
    paths = _check_inputs(paths, db_path)
    progress = progress or _no_progress
    if dry_run:
        return _simulate(paths, db_path, progress, max_bytes)
    user = user or current_user()
    try:
        with next_version(db_path) as con:
            try:
                results = _load_all(con, paths, db_path, user, progress, is_demo, max_bytes, full)
            except WRITE_ERRORS as exc:  # raised here, so that the message is the one below
                raise UserError(_write_failed(db_path, exc)) from exc
    except WRITE_ERRORS as exc:  # while the new version is checkpointed and swapped in
        raise UserError(_write_failed(db_path, exc)) from exc
    return results


def _load_all(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    db_path: Path,
    user: str,
    progress: Progress,
    is_demo: bool,
    max_bytes: int | None,
    full: bool = False,
) -> list[FileResult]:
    lookups = Lookups.from_db(con)
    results = [
        _load_one(con, checked, lookups, user=user, progress=progress, is_demo=is_demo)
        for checked in checked_files(paths, lookups, progress, max_bytes)
    ]
    written = [piece for r in results if r.status in (LOADED, REPLACED) for piece in r.slices]
    scope = incremental.slices_scope(con, db_path, written, full=full)
    progress(_scope_line(scope))
    db.refresh_derived(con, scope)
    public.publish_public(con, db_path, scope)
    return results


def _scope_line(scope: incremental.Scope) -> str:
    """The progress line that says what the publish rebuilds."""
    if scope.full:
        return f"agrégats et vues publiques ({scope.reason})"
    years = ", ".join(str(year) for year in sorted(scope.years)) or "aucune"
    return f"agrégats et vues publiques (années recalculées : {years})"


def _simulate(
    paths: list[Path], db_path: Path, progress: Progress, max_bytes: int | None = None
) -> list[FileResult]:
    """What `load_files` would do, writing nothing (later files see earlier ones as loaded)."""
    con = db.open_reader(db_path)
    try:
        lookups = Lookups.from_db(con)
        results = []
        for checked in checked_files(paths, lookups, progress, max_bytes):
            validated = finish(checked, lookups)
            if validated.has_errors:
                results.append(_result(validated, REJECTED, dry_run=True))
                continue
            status = _status_without_errors(validated, lookups)
            results.append(_result(validated, status, dry_run=True))
            lookups.submissions = _with_slices(lookups, validated)
        return results
    finally:
        con.close()


def _with_slices(lookups: Lookups, validated: ValidatedFile) -> pl.DataFrame:
    periods = lookups.periods.select("period_code", "granularity", "year")
    added = validated.slices.join(periods, on="period_code").with_columns(
        pl.lit(validated.raw.sha256).alias("sha256")
    )
    kept = lookups.submissions.join(validated.slices, on=["member_code", "period_code"], how="anti")
    return pl.concat([kept, added.select(kept.columns)], how="vertical_relaxed")


def _run_message(validated: ValidatedFile, result: FileResult) -> str:
    errors = validated.issues.filter(pl.col("severity") == ERROR)
    if errors.height:
        first = errors.row(0, named=True)
        where = f"{first['sheet']}, ligne {first['row']}" if first["row"] else first["sheet"]
        return f"{errors.height} erreur(s) ; première : {where} : {first['message']}"[:1000]
    counts = ", ".join(f"{table}: {n}" for table, n in result.counts.items())
    slices = "; ".join(f"{member} {period}" for member, period in result.slices[:20])
    return f"{counts} — {slices}"[:1000]


def _load_one(
    con: duckdb.DuckDBPyConnection,
    checked: CheckedFile,
    lookups: Lookups,
    *,
    user: str,
    progress: Progress,
    is_demo: bool,
) -> FileResult:
    started = dt.datetime.now()
    validated = finish(checked, lookups)
    file_name = validated.raw.file_name
    status = REJECTED if validated.has_errors else _status_without_errors(validated, lookups)
    result = _result(validated, status)

    def record(run_status: str, message: str) -> int:
        return record_run(
            con,
            started_at=started,
            kind=RUN_KIND,
            status=run_status,
            file_name=file_name,
            sha256=validated.raw.sha256,
            member_code=result.member_code,
            period_code=result.period_code,
            rows_accepted=validated.rows_accepted,
            rows_rejected=validated.rows_rejected,
            message=message,
            username=user,
        )

    if status in (REJECTED, ALREADY_LOADED):
        message = _run_message(validated, result) if status == REJECTED else "fichier identique"
        result.run_id = record(status, message)
        return result
    progress(f"{file_name} : écriture")
    con.execute("begin transaction")
    try:
        run_id = record(status, _run_message(validated, result))
        _write(
            con, validated, run_id, is_demo=is_demo, replaces=status == REPLACED, progress=progress
        )
        con.execute("commit")
    except WRITE_ERRORS:  # a full disk: the whole new version is discarded (load_files)
        raise
    except Exception as exc:  # noqa: BLE001 — recorded as 'erreur'; the other files go on
        con.execute("rollback")
        _failed(result, exc)
        result.run_id = record(FAILED, f"{type(exc).__name__}: {exc}"[:1000])
        return result
    result.run_id = run_id
    # What the database now holds, without reading it again (the next file's checks need it).
    lookups.submissions = _with_slices(lookups, validated)
    return result


def _failed(result: FileResult, exc: Exception) -> None:
    """A file whose writing failed for an unexpected reason: nothing of it was loaded."""
    result.status = FAILED
    result.issues.insert(
        0,
        Issue(
            result.file_name,
            "—",
            None,
            None,
            None,
            f"Erreur interne pendant le chargement, rien n'a été chargé "
            f"({type(exc).__name__} : {exc}). Signalez-la au secrétariat.",
        ),
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    # Arrow's newest level keeps Polars' string views: no copy of every string into one buffer.
    con.register("incoming", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        columns = ", ".join(frame.columns)
        con.execute(f"insert into {table} ({columns}) select {columns} from incoming")  # noqa: S608
    finally:
        con.unregister("incoming")


def _write(
    con: duckdb.DuckDBPyConnection,
    validated: ValidatedFile,
    run_id: int,
    *,
    is_demo: bool,
    replaces: bool,
    progress: Progress,
) -> None:
    """Replace the file's slices (member × period) in the three tables and in `submissions`.

    `replaces`: some slice is loaded already; otherwise no table holds a row of these slices, and
    the four deletions (each a scan of its table) are skipped."""
    demo_members = [code for code, flag in validated.member_is_demo.items() if flag]
    if is_demo or not demo_members:  # the same flag on every row: no lookup of each row's member
        demo_flag = pl.lit(is_demo)
    else:
        demo_flag = pl.col("member_code").is_in(demo_members)
    marks = [pl.lit(run_id, pl.Int32).alias("load_id"), demo_flag.alias("is_demo")]
    con.register("file_slices", validated.slices.to_arrow())
    try:
        for table in ("activity", "services", "observations", "submissions") if replaces else ():
            con.execute(
                f"""delete from {table} t using file_slices s
                    where t.member_code = s.member_code and t.period_code = s.period_code"""  # noqa: S608
            )
        now = dt.datetime.now()
        con.execute(
            """insert into submissions (member_code, period_code, load_id, sha256, file_name, contact,
                                        date_envoi, loaded_at)
               select member_code, period_code, ?, ?, ?, ?, ?, ? from file_slices""",
            [
                run_id,
                validated.raw.sha256,
                validated.raw.file_name,
                validated.contact,
                validated.date_envoi,
                now,
            ],
        )
    finally:
        con.unregister("file_slices")
    _insert(con, "activity", validated.activity.with_columns(marks))
    progress(
        f"{validated.raw.file_name} : écriture ({validated.activity.height} lignes d'activité)"
    )
    _insert(con, "services", validated.services.with_columns(marks))
    _insert(con, "observations", validated.observations.with_columns(marks))
