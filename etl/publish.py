"""Atomic publishing: every change builds the next release, switched in as a whole.

DuckDB lets no process write a file that another one reads, so every change is made on a copy:
`next_version()` copies the current raw file (or starts an empty one) into a new release folder
(etl/release.py), yields a read-write connection, and only when the block succeeds checkpoints and
closes it, flushes the release (raw file, public file, added files) and switches the pointer to it.
A failure or a kill at any point leaves the previous release untouched; readers follow the pointer
(`etl.release.current`) and re-attach when it names a new release.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from etl import release
from etl.errors import UserError

TEMP_PREFIX = ".obs-next-"


def can_publish(db_path: Path) -> bool:
    """Whether this process may publish a new release of `db_path`: a release is built beside the
    database and moved into its store, so both must be writable (public replicas run read-only)."""
    folder = release.database_name(db_path).parent
    store = release.store_of(db_path)
    writable = folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    return writable and (not store.exists() or os.access(store, os.W_OK | os.X_OK))


def _read_only_message(db_path: Path, exc: OSError) -> str:
    return (
        f"Impossible d'écrire une nouvelle version de la base dans {db_path.parent} "
        f"({exc.strerror}) ; la base publiée reste intacte. Sur un serveur qui ne fait que lire la "
        "base (un réplica public), chargez depuis le réplica d'administration ou avec "
        "« observatoire charger » sous le compte propriétaire de la base (deploy/README.md, § 7) ; "
        "sinon, vérifiez l'espace disque libre et les droits du dossier."
    )


def _open_lock(db_path: Path):
    lock_path = db_path.with_name(f".{db_path.name}.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        return open(lock_path, "w")  # noqa: SIM115 (closed by writer_lock's `with`)
    except OSError as exc:
        raise UserError(_read_only_message(db_path, exc)) from exc


@contextlib.contextmanager
def writer_lock(db_path: Path) -> Iterator[None]:
    """One writer at a time per database file (readers are never blocked)."""
    with _open_lock(db_path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                "Un autre chargement est en cours sur cette base. Réessayez quand il sera terminé."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _temp_prefix(db_path: Path) -> str:
    """Release folders being built are named after their database, so that publishing one database
    never deletes the work of another in the same folder."""
    return f"{TEMP_PREFIX}{db_path.name}."


def _remove_leftovers(db_path: Path) -> None:
    """Delete what an interrupted build left (safe: we hold the writer lock)."""
    for leftover in db_path.parent.glob(f"{_temp_prefix(db_path)}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _unreadable(db_path: Path, error: Exception) -> str:
    return (
        f"La base de données {db_path} n'a pas pu être lue ou écrite ({error}) : fichier "
        "corrompu ou disque plein. Rien n'a été modifié. Restaurez la dernière sauvegarde "
        "(deploy/README.md) ou libérez de la place, puis recommencez."
    )


def _new_build(db_path: Path, source: Path | None) -> release.ReleaseBuild:
    """A private release folder beside the database holding a copy of `source` (none: empty)."""
    folder: Path | None = None
    try:
        folder = Path(tempfile.mkdtemp(prefix=_temp_prefix(db_path), dir=db_path.parent))
        # mkdtemp makes the folder 0700: give it the data folder's mode (never writable by others),
        # so that a separate reader account (the dashboard) can still open every new release.
        folder.chmod(db_path.parent.stat().st_mode & 0o755)
        build = release.ReleaseBuild(db_path, folder, release.new_release_id())
        if source is not None:
            shutil.copyfile(source, build.raw)
            shutil.copymode(source, build.raw)  # keep the published file's mode
    except OSError as exc:  # a read-only folder, a full disk: the current release is untouched
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise UserError(_read_only_message(db_path, exc)) from exc
    return build


def _stamp(con: duckdb.DuckDBPyConnection, build: release.ReleaseBuild, now: dt.datetime) -> None:
    """Write the release id into the raw file (the public file carries it in `public.release`)."""
    con.execute(
        "create table if not exists main.release_info (release_id varchar, built_at timestamp)"
    )
    con.execute("delete from main.release_info")
    con.execute("insert into main.release_info values (?, ?)", [build.id, now])


def _finish(con: duckdb.DuckDBPyConnection, build: release.ReleaseBuild) -> None:
    """Close the raw file of the build and switch the release in (the one atomic step)."""
    now = dt.datetime.now().replace(microsecond=0)
    _stamp(con, build, now)
    con.execute("checkpoint")
    con.close()
    if build.public.exists():
        shutil.copymode(build.raw, build.public)
    release.write_manifest(build, now)
    release.switch(build.name, build.directory, build.id)


@contextlib.contextmanager
def next_version(
    db_path: Path, *, from_scratch: bool = False, source: Path | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a writable copy of the database in a new release; switch to it if the block succeeds.

    The copy starts from the current raw file, from `source` (a restore) or empty (`from_scratch`).
    Inside the block, `etl.release.building(db_path)` is the release being built: the public file
    and any file derived at publish time are written into it.
    """
    db_path = release.database_name(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(db_path):
        _remove_leftovers(db_path)
        if source is None and not from_scratch:
            live = release.current(db_path).raw
            source = live if live.exists() else None
        build = _new_build(db_path, None if from_scratch else source)
        try:
            con = duckdb.connect(str(build.raw))
        except duckdb.Error as exc:
            shutil.rmtree(build.directory, ignore_errors=True)
            raise UserError(_unreadable(db_path, exc)) from exc
        try:
            with release.registered(build):
                yield con
            try:
                _finish(con, build)
            except OSError as exc:  # flushing or switching failed: the current release stays
                raise UserError(_read_only_message(db_path, exc)) from exc
        except duckdb.IOException as exc:  # the copy cannot be read to the end, or disk full
            raise UserError(_unreadable(db_path, exc)) from exc
        finally:
            with contextlib.suppress(duckdb.Error):
                con.close()
            shutil.rmtree(build.directory, ignore_errors=True)  # gone already once switched
