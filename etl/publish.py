"""Atomic publishing of the database file.

DuckDB lets no process write a file that another one reads, so every change is made on a copy:
`next_version()` copies the published file (or starts an empty one), yields a read-write connection,
and only when the block succeeds checkpoints, closes and renames the copy over the published file.
A failure or a kill at any point leaves the previous file untouched; readers re-attach when they see
a new file (see `etl.db.file_version`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from etl.errors import UserError

TEMP_PREFIX = ".obs-next-"


def can_publish(db_path: Path) -> bool:
    """Whether this process may publish a new version of `db_path`: a new version is a copy written
    beside the file, so its folder must be writable (public replicas run with it read-only)."""
    folder = Path(db_path).parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


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
    """Copies are named after their target, so that publishing one file (the public file, built
    while the raw one is being written) never deletes the copy of another in the same folder."""
    return f"{TEMP_PREFIX}{db_path.name}."


def _remove_leftovers(db_path: Path) -> None:
    """Delete copies left by an interrupted build (safe: we hold the writer lock)."""
    for leftover in db_path.parent.glob(f"{_temp_prefix(db_path)}*"):
        leftover.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unreadable(db_path: Path, error: Exception) -> str:
    return (
        f"La base de données {db_path} n'a pas pu être lue ou écrite ({error}) : fichier "
        "corrompu ou disque plein. Rien n'a été modifié. Restaurez la dernière sauvegarde "
        "(deploy/README.md) ou libérez de la place, puis recommencez."
    )


def _writable_copy(db_path: Path, *, from_scratch: bool) -> Path:
    """A private copy of the published file beside it (or a free name for a new file)."""
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=_temp_prefix(db_path), suffix=".duckdb", dir=db_path.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        if db_path.exists() and not from_scratch:
            shutil.copyfile(db_path, tmp)
            # mkstemp made the copy 0600: keep the published file's mode so that a separate
            # reader account (the dashboard) can still open every new version.
            shutil.copymode(db_path, tmp)
        else:
            tmp.unlink()  # DuckDB must create the file itself
    except OSError as exc:  # a read-only folder, a full disk: the published file is untouched
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise UserError(_read_only_message(db_path, exc)) from exc
    return tmp


@contextlib.contextmanager
def next_version(
    db_path: Path, *, from_scratch: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a writable copy of the database; publish it atomically if the block succeeds."""
    db_path = Path(db_path)
    directory = db_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    with writer_lock(db_path):
        _remove_leftovers(db_path)
        tmp = _writable_copy(db_path, from_scratch=from_scratch)
        try:
            con = duckdb.connect(str(tmp))
        except duckdb.Error as exc:
            tmp.unlink(missing_ok=True)
            raise UserError(_unreadable(db_path, exc)) from exc
        try:
            yield con
            con.execute("checkpoint")
            con.close()
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, db_path)
            _fsync_directory(directory)
        except duckdb.IOException as exc:  # the copy cannot be read to the end, or disk full
            raise UserError(_unreadable(db_path, exc)) from exc
        finally:
            with contextlib.suppress(duckdb.Error):
                con.close()
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
