"""Releases: the raw file, the public file and every file derived at publish, switched as a whole.

The database keeps its name (`data/observatoire.duckdb`, or `$OBSERVATOIRE_DB`); what it names is the
current release of a store beside it (DESIGN §2):

    data/observatoire.releases/current -> 20261206T101500123456-3f2a     the pointer (one symlink)
    data/observatoire.releases/20261206T101500123456-3f2a/
        observatoire.duckdb               raw file
        observatoire_public.duckdb        public file (disclosure control applied)
        release.json                      manifest: id, date, files and sizes
        …                                 files added during the publish (`ReleaseBuild.add_file`)
    data/observatoire.duckdb        -> observatoire.releases/current/observatoire.duckdb
    data/observatoire_public.duckdb -> observatoire.releases/current/observatoire_public.duckdb

A publish (`etl.publish.next_version`) fills a private folder beside the name, flushes every file,
moves the folder into the store and renames a new pointer over `current`: that rename is the one
atomic step, so a crash at any instant leaves the old release or the new one, never a mix. Readers
resolve the pointer once (`current`) and open files inside that folder, which never changes
afterwards. The two links under the old names are for people and tools (`duckdb
data/observatoire.duckdb` opens the current raw file); the code follows the pointer.

A database still kept as a single file (before releases) is read as it is and becomes a release at
its first publish. The previous `KEPT_PREVIOUS` releases are kept; older ones are deleted, which is
safe for a reader still attached to one: on Linux an open file stays readable after it is unlinked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

STORE_SUFFIX = ".releases"
POINTER = "current"
MANIFEST = "release.json"
KEPT_PREVIOUS = 1  # releases kept besides the current one (a reader attached to one keeps working)
RELEASE_ID = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{4}$")
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
T = TypeVar("T")


# --- names --------------------------------------------------------------------------------------------


def database_name(path: Path) -> Path:
    """The database's name as given (absolute, links NOT followed): a path that points inside a
    release (`….releases/<id>/observatoire.duckdb`, e.g. after `realpath`) names its database."""
    path = Path(os.path.abspath(path))
    folder = path.parent
    if RELEASE_ID.match(folder.name) and folder.parent.name == f"{path.stem}{STORE_SUFFIX}":
        return folder.parent.parent / path.name
    return path


def public_file_name(name: Path) -> str:
    """observatoire.duckdb -> observatoire_public.duckdb"""
    name = Path(name)
    return f"{name.stem}_public{name.suffix or '.duckdb'}"


def store_of(name: Path) -> Path:
    """The folder of the releases of a database: data/observatoire.releases."""
    name = database_name(name)
    return name.with_name(f"{name.stem}{STORE_SUFFIX}")


def new_release_id(now: dt.datetime | None = None) -> str:
    """A time-ordered, unique id: 20261206T101500123456-3f2a."""
    return f"{(now or dt.datetime.now()):%Y%m%dT%H%M%S%f}-{secrets.token_hex(2)}"


# --- reading: the current release -----------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """One resolved release: its folder never changes, so its files are a consistent set.

    `directory` is None for a database still kept as single files (before its first publish).
    """

    name: Path
    directory: Path | None
    id: str | None

    @property
    def raw(self) -> Path:
        return self.file(self.name.name)

    @property
    def public(self) -> Path:
        return self.file(public_file_name(self.name))

    def file(self, file_name: str) -> Path:
        """A file of the release (the raw and public files, the manifest, added files)."""
        folder = self.directory if self.directory is not None else self.name.parent
        return folder / file_name

    def manifest(self) -> dict:
        """release.json ({} for a single-file database)."""
        if self.directory is None:
            return {}
        try:
            return json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}


def current(name: Path) -> Release:
    """The release the pointer names now (read once), or the single files of an older layout."""
    name = database_name(name)
    store = store_of(name)
    try:
        target = os.readlink(store / POINTER)
    except OSError:  # no store yet (or no pointer: the first publish never finished)
        return Release(name, None, None)
    return Release(name, store / target, target)


class FileGone(Exception):
    """A file of a release was missing when a reader opened it (mixed into the readers' errors)."""


def read_current(name: Path, read: Callable[[Release], T], tries: int = 3) -> T:
    """`read(release)` on the current release; when a file of it was gone by the time `read` opened
    it (deleted after newer publishes: the reader was slower than two of them), again on the
    release that is current now. A file missing from the current release itself is an error."""
    for _ in range(tries - 1):
        live = current(name)
        try:
            return read(live)
        except (FileGone, FileNotFoundError):
            if current(name).id == live.id:
                raise
    return read(current(name))


def exists(name: Path) -> bool:
    """Whether there is a raw database under this name."""
    return current(name).raw.exists()


def releases(name: Path) -> list[str]:
    """The ids of the release folders in the store, oldest first."""
    try:
        entries = os.listdir(store_of(name))
    except OSError:
        return []
    return sorted(entry for entry in entries if RELEASE_ID.match(entry))


# --- writing: a release being built ---------------------------------------------------------------------


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's content and entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class ReleaseBuild:
    """The release being built: a private folder that becomes the current release when the
    publish succeeds (etl.publish.next_version). Files derived at publish time go in it with
    `add_file` (or written at `path(name)`), and are switched in with the raw and public files."""

    name: Path
    directory: Path
    id: str

    @property
    def raw(self) -> Path:
        return self.directory / self.name.name

    @property
    def public(self) -> Path:
        return self.directory / public_file_name(self.name)

    def path(self, file_name: str) -> Path:
        """Where to write an added file (a plain name; not the raw, public or manifest file)."""
        reserved = {self.name.name, public_file_name(self.name), MANIFEST}
        if not FILE_NAME.match(file_name) or file_name in reserved:
            raise ValueError(f"Nom de fichier de publication invalide ou réservé : {file_name!r}")
        return self.directory / file_name

    def add_file(self, file_name: str, content: bytes | str) -> Path:
        """Write one more file into the release (e.g. the signals feed), flushed to disk."""
        path = self.path(file_name)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return path

    def files(self) -> list[Path]:
        return sorted(p for p in self.directory.iterdir() if p.is_file())


_BUILDS: dict[Path, ReleaseBuild] = {}


def building(name: Path) -> ReleaseBuild:
    """The release of `name` being built by this process (inside `next_version`)."""
    build = _BUILDS.get(database_name(name))
    if build is None:
        raise RuntimeError(
            f"Aucune publication de {name} en cours : appelez ceci dans « next_version »."
        )
    return build


@contextlib.contextmanager
def registered(build: ReleaseBuild) -> Iterator[ReleaseBuild]:
    _BUILDS[build.name] = build
    try:
        yield build
    finally:
        _BUILDS.pop(build.name, None)


def write_manifest(build: ReleaseBuild, built_at: dt.datetime) -> None:
    """release.json: what the release holds (written last, before the switch)."""
    files = {p.name: p.stat().st_size for p in build.files() if p.name != MANIFEST}
    manifest = {"id": build.id, "built_at": built_at.isoformat(timespec="seconds"), "files": files}
    path = build.directory / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    for file in build.files():
        fsync_path(file)
    fsync_path(build.directory)


# --- the switch ---------------------------------------------------------------------------------------


def _replace_link(link: Path, target: str) -> None:
    """Make `link` a symlink to `target` in one rename (whatever was there before)."""
    with contextlib.suppress(OSError):
        if os.readlink(link) == target:
            return
    temporary = link.with_name(f".{link.name}.{secrets.token_hex(4)}")
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def switch(name: Path, folder: Path, release_id: str) -> Release:
    """Make the finished release in `folder` the current one (caller holds the writer lock).

    The folder moves into the store under its id, then a new pointer is renamed over `current`:
    the one atomic step. Then the names beside it are (re)made links, and old releases pruned.
    """
    name = database_name(name)
    store = store_of(name)
    if not store.is_dir():
        store.mkdir(mode=folder.stat().st_mode & 0o777)
        fsync_path(store.parent)
    target = store / release_id
    os.rename(folder, target)
    fsync_path(store)
    fsync_path(folder.parent)
    _replace_link(store / POINTER, release_id)
    fsync_path(store)
    # The release is live from here: what follows is tidying, redone at every switch, and must not
    # make a published release look failed.
    with contextlib.suppress(OSError):
        for file_name in (name.name, public_file_name(name)):
            _replace_link(name.parent / file_name, f"{store.name}/{POINTER}/{file_name}")
        fsync_path(name.parent)
        prune(name)
    return Release(name, target, release_id)


def prune(name: Path, keep: int = KEPT_PREVIOUS) -> list[str]:
    """Delete releases other than the current one and the `keep` newest before it (caller holds
    the writer lock); a folder newer than the current one never went live (a crash before its
    switch). Returns the deleted ids."""
    store = store_of(name)
    live = current(name).id
    if live is None:
        return []
    ids = releases(name)
    older = [release_id for release_id in ids if release_id < live]
    kept = {live, *older[len(older) - keep :]} if keep > 0 else {live}
    doomed = [release_id for release_id in ids if release_id not in kept]
    for release_id in doomed:
        shutil.rmtree(store / release_id, ignore_errors=True)
    for leftover in store.glob(f".{POINTER}.*"):  # a pointer link made but never renamed
        leftover.unlink(missing_ok=True)
    return doomed
