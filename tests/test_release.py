"""A release switches as a whole (issue #14 item 4, DESIGN §2): the raw file, the public file and the
files added at publish are built in a release folder and switched in by one rename of a pointer.

A publish is killed (SIGKILL, in its own process) before each of its file operations in turn, then at
random instants while it loops; after each kill the database must be the old release or the new one,
never a mix: the pointer names a complete release whose raw and public files carry its id. Readers
running meanwhile must only ever see such pairs.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from etl import build, public, release
from etl import db as etl_db
from etl.errors import UserError
from etl.publish import TEMP_PREFIX, next_version

# Every operation of a publish that changes what is on disk goes through one of these: the kill
# lands just before one. (fsync is left out: SIGKILL loses no written data, so a kill before a flush
# is the same as a kill before the operation after it.)
FILE_OPERATIONS = ("mkdir", "chmod", "rename", "replace", "symlink", "unlink", "rmdir")

# One publish as every load makes it: a change to the raw file, its public file rebuilt.
PUBLISH = """
def publish(db_path):
    with next_version(db_path) as con:
        con.execute("create or replace table main.marker as select now() as t")
        public.publish_public(con, db_path)
"""

KILLED_PUBLISH = (
    """
import os, signal, sys
from pathlib import Path
from etl import public  # imported first: only the publish's own operations are counted
from etl.publish import next_version
"""
    + PUBLISH
    + """

db_path, kill_at, calls = Path(sys.argv[1]), int(sys.argv[2]), 0

def killing(real):
    def call(*args, **kwargs):
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call

for name in sys.argv[3].split(","):
    setattr(os, name, killing(getattr(os, name)))
publish(db_path)
print(calls)
"""
)

LOOPING_PUBLISHES = (
    """
import sys
from pathlib import Path
from etl import public
from etl.publish import next_version
"""
    + PUBLISH
    + """
db_path = Path(sys.argv[1])
publish(db_path)  # warmed up: the publishes timed and killed below run at their usual speed
print("pret", flush=True)
while True:
    publish(db_path)
    print("fait", flush=True)
"""
)


def release_ids(db_path: Path) -> tuple[str | None, str | None, str | None]:
    """(id the pointer names, id inside its raw file, id inside its public file), read as a reader
    does: the pointer resolved once, both files opened in that release's folder (again on the new
    release if that one was deleted before they were opened)."""
    return release.read_current(db_path, ids_in)


def ids_in(live: release.Release) -> tuple[str | None, str | None, str | None]:
    con = etl_db.attach_read_only(live.raw)
    try:
        raw_id = con.sql("select release_id from release_info").fetchall()[0][0]
    finally:
        con.close()
    con = public.open_public_reader(live.public)
    try:
        public_id = con.sql("select release_id from public.release").fetchall()[0][0]
    finally:
        con.close()
    return live.id, raw_id, public_id


def assert_one_whole_release(db_path: Path) -> str | None:
    """The pointer names a complete release whose two files are its own; returns its id."""
    pointer_id, raw_id, public_id = release_ids(db_path)
    assert raw_id == public_id, f"fichiers de deux publications : brut {raw_id}, public {public_id}"
    live = release.current(db_path)
    if live.directory is not None:  # a single-file database before its first publish has no pointer
        assert raw_id == pointer_id
        files = {path.name: path.stat().st_size for path in live.directory.iterdir()}
        manifest = live.manifest()
        assert manifest["id"] == pointer_id
        assert {name: files[name] for name in manifest["files"]} == manifest["files"]
    return pointer_id


def single_file_copy(source: Path, target: Path) -> Path:
    """A database kept the old way: a plain raw file and a plain public file side by side."""
    target.parent.mkdir(parents=True, exist_ok=True)
    live = release.current(source)
    shutil.copyfile(live.raw, target)
    shutil.copyfile(live.public, public.public_path(target))
    return target


@pytest.fixture(scope="module")
def reference_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("release") / "obs.duckdb"
    build.init_database(path)
    return path


def killed_publish(db_path: Path, kill_at: int) -> tuple[bool, int | None]:
    """Run one publish in its own process, killed before its `kill_at`-th file operation.
    Returns (killed, number of operations when it was not killed)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_PUBLISH,
            str(db_path),
            str(kill_at),
            ",".join(FILE_OPERATIONS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == -signal.SIGKILL:
        return True, None
    assert done.returncode == 0, done.stderr
    return False, int(done.stdout.split()[-1])


def kill_at_every_step(db_path: Path, fresh: bool, reference: Path) -> tuple[int, int]:
    """Kill a publish before each of its file operations in turn; check the database after each.
    Returns (kill points tried, of which left the new release). `fresh`: start every try from a
    new single-file copy (the migration to releases), else from what the previous try left."""
    switched = 0
    for kill_at in range(1, 200):
        if fresh:
            shutil.rmtree(db_path.parent, ignore_errors=True)
            single_file_copy(reference, db_path)
        before = assert_one_whole_release(db_path)
        killed, operations = killed_publish(db_path, kill_at)
        after = assert_one_whole_release(db_path)
        if not killed:
            assert after != before and operations < kill_at
            return kill_at - 1, switched
        switched += after != before
    raise AssertionError("the publish never finished")  # pragma: no cover


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_publish_killed_before_any_file_operation_leaves_the_old_release_or_the_new_one(
    reference_db, tmp_path
):
    migrated = tmp_path / "migration" / "obs.duckdb"
    tried_first, switched_first = kill_at_every_step(migrated, fresh=True, reference=reference_db)
    store = tmp_path / "store" / "obs.duckdb"
    store.parent.mkdir()
    with next_version(store, source=release.current(reference_db).raw) as con:
        public.publish_public(con, store)
    tried, switched = kill_at_every_step(store, fresh=False, reference=reference_db)
    # Each try left either release; some kills came after the switch, most before.
    assert 0 < switched_first < tried_first and 0 < switched < tried
    # What the kills left is cleaned by the next publish: no build folder, no stray pointer,
    # the current release and KEPT_PREVIOUS before it.
    build.reload_reference(store)
    assert not list(store.parent.glob(f"{TEMP_PREFIX}*"))
    assert not list(release.store_of(store).glob(".*"))
    assert len(release.releases(store)) == 1 + release.KEPT_PREVIOUS
    assert_one_whole_release(store)
    print(
        f"\nFIGURE | publication tuée avant chacune de ses opérations sur les fichiers : "
        f"{tried_first} points (première publication d'une base à fichier unique, dont "
        f"{switched_first} après la bascule) + {tried} points (publication suivante, dont "
        f"{switched} après la bascule) ; 0 mélange"
    )


class PairReader(threading.Thread):
    """Reads (pointer, raw id, public id) in a loop, as the dashboard and the CLI do."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(daemon=True)
        self.db_path, self.stop = db_path, threading.Event()
        self.reads, self.ids, self.problems = 0, set(), []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                pointer_id, raw_id, public_id = release_ids(self.db_path)
            except UserError as error:  # e.g. its release deleted before it opened it
                self.problems.append(repr(error))
                continue
            if not pointer_id == raw_id == public_id:
                self.problems.append(f"{pointer_id} / {raw_id} / {public_id}")
            self.ids.add(pointer_id)
            self.reads += 1


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_publishes_killed_at_random_instants_never_leave_a_mix_and_readers_see_only_pairs(
    reference_db, tmp_path
):
    db_path = single_file_copy(reference_db, tmp_path / "obs.duckdb")
    build.reload_reference(db_path)  # from single files to releases
    chance = random.Random(20261206)
    reader = PairReader(db_path)
    reader.start()
    kills, switched = 12, 0
    try:
        for _ in range(kills):
            writer = subprocess.Popen(
                [sys.executable, "-c", LOOPING_PUBLISHES, str(db_path)],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert writer.stdout.readline().strip() == "pret"
                started = time.monotonic()
                assert writer.stdout.readline().strip() == "fait"  # one publish, timed
                span = time.monotonic() - started
                before = release.current(db_path).id
                # Somewhere in the next publish (as long as the one just timed) or the one after.
                time.sleep(chance.uniform(0.0, 1.5 * span))
            finally:
                writer.kill()
                writer.wait(30)
                writer.stdout.close()
            after = assert_one_whole_release(db_path)
            switched += after != before
    finally:
        reader.stop.set()
        reader.join(timeout=60)
    assert reader.problems == []
    assert reader.reads > 0 and len(reader.ids) >= 3  # it saw releases switch under it
    print(
        f"\nFIGURE | {kills} publications tuées à un instant tiré au hasard pendant leur cours, "
        f"{switched} après au moins une bascule ; lecteur : {reader.reads} lectures de paires, "
        f"{len(reader.ids)} publications vues, 0 paire mélangée"
    )


def test_a_reader_attached_to_a_release_keeps_reading_after_it_is_deleted(reference_db, tmp_path):
    db_path = tmp_path / "obs.duckdb"
    with next_version(db_path, source=release.current(reference_db).raw) as con:
        public.publish_public(con, db_path)
    first = release.current(db_path)
    con = public.open_public_reader(first.public)
    try:
        for _ in range(1 + release.KEPT_PREVIOUS):
            build.reload_reference(db_path)
        assert not first.directory.exists()  # pruned: the previous release is another one now
        assert con.sql("select release_id from public.release").fetchall() == [(first.id,)]
        assert con.sql("select count(*) from public.communes").fetchall() == [(45,)]
    finally:
        con.close()


def test_the_database_name_and_the_public_name_lead_to_the_current_release(reference_db, tmp_path):
    """Users and tools keep opening data/observatoire.duckdb: it names the current raw file."""
    db_path = single_file_copy(reference_db, tmp_path / "obs.duckdb")
    assert release.current(db_path).directory is None  # single files: read as they are
    build.reload_reference(db_path)  # the first write makes it a release
    live = release.current(db_path)
    assert live.directory.parent == tmp_path / "obs.releases"
    assert db_path.is_symlink() and public.public_path(db_path).is_symlink()
    assert db_path.resolve() == live.raw and public.public_path(db_path).resolve() == live.public
    # A path resolved by the user (realpath) still names the database, not one release.
    assert release.current(db_path.resolve()).id == live.id
    assert release_ids(db_path) == (live.id, live.id, live.id)


def test_files_added_at_publish_switch_with_the_release(reference_db, tmp_path):
    db_path = tmp_path / "obs.duckdb"
    with next_version(db_path, source=release.current(reference_db).raw) as con:
        public.publish_public(con, db_path)
        release.building(db_path).add_file("signaux.atom", "<feed>1</feed>")
    first = release.current(db_path)
    assert first.file("signaux.atom").read_text() == "<feed>1</feed>"
    assert "signaux.atom" in first.manifest()["files"]
    with pytest.raises(RuntimeError, match="boom"), next_version(db_path) as con:
        public.publish_public(con, db_path)
        release.building(db_path).add_file("signaux.atom", "<feed>2</feed>")
        raise RuntimeError("boom")
    assert release.current(db_path).file("signaux.atom").read_text() == "<feed>1</feed>"
    with pytest.raises(ValueError, match="réservé"), next_version(db_path) as con:
        release.building(db_path).add_file(public.public_path(db_path).name, b"x")
    with pytest.raises(RuntimeError, match="next_version"):
        release.building(db_path)


def test_old_releases_are_pruned_and_the_release_folders_keep_the_data_folder_mode(
    reference_db, tmp_path
):
    folder = tmp_path / "donnees"
    folder.mkdir(mode=0o750)
    folder.chmod(0o750)
    db_path = folder / "obs.duckdb"
    with next_version(db_path, source=release.current(reference_db).raw) as con:
        public.publish_public(con, db_path)
    for _ in range(3):
        build.reload_reference(db_path)
    ids = release.releases(db_path)
    assert len(ids) == 1 + release.KEPT_PREVIOUS and ids[-1] == release.current(db_path).id
    assert (release.store_of(db_path) / ids[-1]).stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) == [
        "obs.duckdb",
        "obs.releases",
        "obs_public.duckdb",
    ]


def test_a_reader_slower_than_two_publishes_reads_the_new_release(reference_db, tmp_path):
    """Between reading the pointer and opening the files, the release may be deleted (two newer
    publishes): the reader starts again on the release that is current then, never half on each."""
    db_path = tmp_path / "obs.duckdb"
    with next_version(db_path, source=release.current(reference_db).raw) as con:
        public.publish_public(con, db_path)
    seen: list[str] = []

    def slow_reader(live: release.Release) -> tuple[str | None, str | None, str | None]:
        seen.append(live.id)
        if len(seen) == 1:  # the reader dozes off: two publishes later its release is gone
            for _ in range(1 + release.KEPT_PREVIOUS):
                build.reload_reference(db_path)
            assert not live.directory.exists()
        return ids_in(live)

    pointer_id, raw_id, public_id = release.read_current(db_path, slow_reader)
    assert len(seen) == 2 and seen[0] != seen[1]
    assert pointer_id == raw_id == public_id == release.current(db_path).id == seen[1]
