"""The sign-in lockout: at most `max_failures` password guesses per client and per window, whatever
the number of sessions, processes and replicas on the host.

Each attempt first takes a slot in one SQLite transaction (`BEGIN IMMEDIATE`: one writer at a time
across threads and processes): refused while the client is locked, otherwise counted as a failure
before the password is even checked, and the slot that reaches the limit locks the client at once.
Only then is the (slow, ~0.3 s) hash computed, outside the transaction. A right password forgives
the guesses counted before its own slot, not those taken while it was being checked: a lock that one
of those set stays. So guesses sent at the same moment cannot slip through between a check and a
count: at most `max_failures` wrong guesses are checked per window (from the first guess after a
sign-in or after a lock), none while locked. A process killed between its slot and its check has
used a guess (the safe side).

The file lives where every replica of the host can write (deploy/README.md §4: systemd's
StateDirectory); a file that cannot be written refuses password sign-ins rather than allowing
unlimited guesses.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from etl.paths import database_path

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
STATE_ENV_VAR = "OBSERVATOIRE_SIGNIN_STATE"  # the lockout file; default: see default_path()
STATE_FILE_NAME = "connexions.sqlite"

SCHEMA = """
create table if not exists sign_in_attempts (
    client text primary key,
    failures integer not null,    -- guesses counted since the window began (right ones cleared)
    window_start real not null,   -- epoch seconds of the first of them
    locked_until real             -- epoch seconds, while the client is locked
)
"""


class LockoutUnavailable(Exception):
    """The lockout file cannot be read or written: password sign-ins are refused."""


def default_path(database: Path | None = None) -> Path:
    """$OBSERVATOIRE_SIGNIN_STATE, else systemd's state directory ($STATE_DIRECTORY, shared by the
    replicas), else a hidden file beside the database (default: $OBSERVATOIRE_DB)."""
    explicit = os.environ.get(STATE_ENV_VAR)
    if explicit:
        return Path(explicit)
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / STATE_FILE_NAME
    database = Path(database) if database is not None else database_path()
    return database.with_name(f".{database.stem}-{STATE_FILE_NAME}")


@dataclass(frozen=True)
class Attempt:
    """The answer to « may this client try a password now? »."""

    allowed: bool
    locked_until: dt.datetime | None  # refused: until when; allowed: set when this try locks
    remaining: int  # guesses left after this one (0 when it is the last)
    ticket: int = 0  # this guess's place in the window (what a right password forgives)


class SignInLockout:
    """Failed sign-ins per client, kept in a SQLite file shared by every process of the host.

    `path=None` keeps them in a private temporary file (tests, one process).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        max_failures: int = MAX_FAILURES,
        lockout: dt.timedelta = LOCKOUT,
    ) -> None:
        if path is None:
            fd, name = tempfile.mkstemp(prefix="observatoire-connexions-", suffix=".sqlite")
            os.close(fd)
            path = Path(name)
            weakref.finalize(self, path.unlink, missing_ok=True)
        self.path = Path(path)
        self.max_failures = max_failures
        self.lockout = lockout

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: other threads and processes wait for it (up to 30 s)."""
        try:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise LockoutUnavailable(f"{self.path} : {exc}") from exc
        try:
            con.execute("begin immediate")
            con.execute(SCHEMA)
            yield con
            con.execute("commit")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("rollback")
            raise LockoutUnavailable(f"{self.path} : {exc}") from exc
        finally:
            con.close()

    def attempt(self, client: str, now: dt.datetime) -> Attempt:
        """Take one guess for `client`, atomically: refused while locked, else counted now."""
        stamp = now.timestamp()
        with self._transaction() as con:
            row = con.execute(
                "select failures, window_start, locked_until from sign_in_attempts where client = ?",
                [client],
            ).fetchone()
            if row is not None and row[2] is not None and stamp < row[2]:
                return Attempt(False, dt.datetime.fromtimestamp(row[2]), 0)
            fresh = (
                row is None or row[2] is not None or stamp - row[1] >= self.lockout.total_seconds()
            )
            failures = 1 if fresh else row[0] + 1
            window_start = stamp if fresh else row[1]
            locked = stamp + self.lockout.total_seconds() if failures >= self.max_failures else None
            con.execute(
                "insert or replace into sign_in_attempts values (?, ?, ?, ?)",
                [client, failures, window_start, locked],
            )
            self._forget_old(con, stamp)
        until = dt.datetime.fromtimestamp(locked) if locked is not None else None
        return Attempt(True, until, max(0, self.max_failures - failures), failures)

    def _forget_old(self, con: sqlite3.Connection, stamp: float) -> None:
        """Rows whose window and lock are over say nothing any more (keeps the file small)."""
        con.execute(
            """delete from sign_in_attempts
               where coalesce(locked_until, 0) <= ? and window_start <= ?""",
            [stamp, stamp - self.lockout.total_seconds()],
        )

    def succeeded(self, client: str, ticket: int) -> None:
        """The right password, sent as guess number `ticket`: the guesses up to it are forgiven;
        those taken since (sent at the same time) still count, and so does a lock they set."""
        with self._transaction() as con:
            row = con.execute(
                "select failures from sign_in_attempts where client = ?", [client]
            ).fetchone()
            if row is None:
                return
            if row[0] <= ticket:
                con.execute("delete from sign_in_attempts where client = ?", [client])
            else:
                con.execute(
                    "update sign_in_attempts set failures = ? where client = ?",
                    [row[0] - ticket, client],
                )

    def locked_until(self, client: str, now: dt.datetime) -> dt.datetime | None:
        """When the lock on `client` ends, or None when it may try."""
        with self._transaction() as con:
            row = con.execute(
                "select locked_until from sign_in_attempts where client = ?", [client]
            ).fetchone()
        if row is None or row[0] is None or now.timestamp() >= row[0]:
            return None
        return dt.datetime.fromtimestamp(row[0])
