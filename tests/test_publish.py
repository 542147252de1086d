"""Safe publishing: a failed or killed build leaves the previous file intact; readers keep answering."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from etl import build, db
from etl.errors import UserError
from etl.publish import TEMP_PREFIX, next_version


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def published(tmp_path):
    path = tmp_path / "obs.duckdb"
    build.init_database(path)
    return path


def communes_count(path: Path) -> int:
    con = db.open_reader(path)
    try:
        return db.query(con, "select count(*) from communes").item()
    finally:
        con.close()


def test_a_build_that_fails_halfway_leaves_the_previous_file_identical(published):
    before = digest(published)
    with pytest.raises(RuntimeError, match="boom"), next_version(published) as con:
        con.execute("delete from communes")
        con.execute("create table half_written as select 1 as x")
        raise RuntimeError("boom")
    assert digest(published) == before
    assert communes_count(published) == 45
    assert not list(published.parent.glob(f"{TEMP_PREFIX}*"))


def test_a_successful_build_replaces_the_file(published):
    with next_version(published) as con:
        con.execute("delete from communes where ofs_number > 6610")
    assert communes_count(published) == 10


KILLED_WRITER = """
import sys, time
from pathlib import Path
from etl.publish import next_version
with next_version(Path(sys.argv[1])) as con:
    con.execute("delete from communes")
    con.execute("create table big as select range as x from range(2000000)")
    con.execute("checkpoint")
    Path(sys.argv[2]).write_text("ready")
    time.sleep(60)
"""


def test_a_build_killed_midway_leaves_the_previous_file_intact(published, tmp_path):
    before = digest(published)
    ready = tmp_path / "ready"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(published), str(ready)])
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), "the writer never reached the middle of its build"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert digest(published) == before
    assert communes_count(published) == 45
    # The next build cleans the leftover copy and works.
    assert list(published.parent.glob(f"{TEMP_PREFIX}*"))
    build.reload_reference(published)
    assert not list(published.parent.glob(f"{TEMP_PREFIX}*"))
    assert communes_count(published) == 45


def test_only_one_writer_at_a_time(published):
    with (
        next_version(published),
        pytest.raises(UserError, match="Un autre chargement"),
        next_version(published),
    ):
        pass


def test_a_reader_keeps_answering_while_builds_swap_the_file(published):
    """Readers re-attach when the file identity changes, and never see an error or a partial state."""
    errors: list[BaseException] = []
    versions_seen: set[int] = set()
    stop = threading.Event()

    def read_loop():
        con, seen_version = None, None
        while not stop.is_set():
            try:
                version = db.file_version(published)
                if version != seen_version:
                    if con is not None:
                        con.close()
                    con, seen_version = db.open_reader(published), version
                count, marker = db.query(
                    con, "select (select count(*) from communes), (select count(*) from load_runs)"
                ).row(0)
                assert count == 45
                versions_seen.add(marker)
            except BaseException as exc:  # noqa: BLE001 — collected and asserted below
                errors.append(exc)
                return
        con.close()

    reader = threading.Thread(target=read_loop, daemon=True)
    reader.start()
    try:
        for _ in range(5):
            build.reload_reference(published)
            time.sleep(0.05)
    finally:
        stop.set()
        reader.join(timeout=30)
    assert errors == []
    assert len(versions_seen) >= 2  # it saw builds land, not only the first file


def test_a_missing_database_is_a_clear_french_error(tmp_path):
    with pytest.raises(UserError, match="n'existe pas"):
        db.open_reader(tmp_path / "absent.duckdb")


def test_a_corrupt_database_is_a_clear_french_error(tmp_path):
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match="illisible"):
        db.open_reader(corrupt)


def test_readers_are_read_only(published):
    con = db.open_reader(published)
    with pytest.raises(duckdb.Error):
        con.execute("delete from obs.communes")
    con.close()


def test_a_new_version_keeps_the_published_file_mode(published):
    published.chmod(0o640)
    build.reload_reference(published)
    assert published.stat().st_mode & 0o777 == 0o640


def test_a_lock_that_cannot_be_written_is_a_clear_french_error(published):
    # The lock file cannot be opened for writing (here a folder took its name; on a public replica,
    # the whole folder is read-only): nothing is written and the message says what to do.
    lock = published.parent / f".{published.name}.lock"
    lock.unlink(missing_ok=True)
    lock.mkdir()
    before = digest(published)
    expected = "Impossible d'écrire une nouvelle version"
    with pytest.raises(UserError, match=expected) as error, next_version(published) as con:
        con.execute("delete from communes")
    assert "réplica d'administration" in str(error.value)
    assert digest(published) == before


def test_a_copy_that_cannot_be_written_leaves_nothing_behind(published, monkeypatch):
    import errno
    import shutil

    def disk_full(source, target, *args, **kwargs):
        Path(target).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfile", disk_full)
    before = digest(published)
    with pytest.raises(UserError, match="espace disque"), next_version(published) as con:
        con.execute("delete from communes")
    assert digest(published) == before
    assert not list(published.parent.glob(f"{TEMP_PREFIX}*"))


def test_can_publish_needs_an_existing_folder(published, tmp_path):
    from etl.publish import can_publish

    assert can_publish(published)
    assert not can_publish(tmp_path / "absent" / "obs.duckdb")
