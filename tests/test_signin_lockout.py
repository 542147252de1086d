"""The sign-in lockout cannot be raced (issue #14 item 5): guesses sent at the same moment, from
threads (sessions of one replica) or processes (replicas of one host), never get more than
MAX_FAILURES passwords checked per window, and the right password is refused while locked.

Every attempt goes through `dashboard.auth.sign_in_with_password`, as the page's does; the password
check is counted by wrapping `verify_password`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dashboard import auth
from etl.auth.lockout import MAX_FAILURES, SignInLockout

PASSWORD = "correct horse battery staple"
NOW = dt.datetime(2026, 12, 6, 10, 0)
# Slow enough (a few ms) that guesses overlap while one is being checked, as with the real hash.
CONFIG = auth.AuthConfig(
    auth.hash_password(PASSWORD, iterations=20_000), oidc=False, allowed_emails=frozenset()
)


class CountingVerifier:
    """Stands in for `verify_password` and counts the passwords actually checked; with `gate`, each
    check waits until it is set (every guess has asked for its slot: the worst case of a race)."""

    def __init__(self, real) -> None:
        self.real, self.checked, self.gate = real, 0, None
        self._lock = threading.Lock()

    def __call__(self, password: str, encoded: str) -> bool:
        with self._lock:
            self.checked += 1
        if self.gate is not None:
            assert self.gate.wait(timeout=60)
        return self.real(password, encoded)


class CountedLockout(SignInLockout):
    """Sets `everyone_asked` once `expected` guesses have asked for a slot."""

    def __init__(self, path: Path, expected: int) -> None:
        super().__init__(path)
        self.expected, self.asked = expected, 0
        self.everyone_asked = threading.Event()
        self._lock = threading.Lock()

    def attempt(self, client, now):
        answer = super().attempt(client, now)
        with self._lock:
            self.asked += 1
            if self.asked == self.expected:
                self.everyone_asked.set()
        return answer


@pytest.fixture
def verifier(monkeypatch) -> CountingVerifier:
    counting = CountingVerifier(auth.verify_password)
    monkeypatch.setattr(auth, "verify_password", counting)
    return counting


def all_at_once(passwords: list[str], lockout: SignInLockout, client: str = "10.0.0.7") -> list:
    """Send every password at the same instant, one thread each (one session each)."""
    start = threading.Barrier(len(passwords))
    answers: list = [None] * len(passwords)

    def attempt(number: int) -> None:
        start.wait()
        answers[number] = auth.sign_in_with_password(
            passwords[number], CONFIG, lockout, client, NOW
        )

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(passwords))]
    try:
        for thread in threads:
            thread.start()
    finally:
        for thread in threads:
            thread.join(timeout=120)
    return answers


def test_twenty_wrong_passwords_at_once_get_five_checks(tmp_path, verifier):
    lockout = SignInLockout(tmp_path / "connexions.sqlite")
    answers = all_at_once(["faux"] * 20, lockout)
    reasons = [reason for identity, reason in answers]
    assert all(identity is None for identity, _ in answers)
    assert verifier.checked == MAX_FAILURES
    assert sum("Mot de passe incorrect" in reason for reason in reasons) == MAX_FAILURES - 1
    assert sum("bloquée" in reason for reason in reasons) == 20 - (MAX_FAILURES - 1)
    assert lockout.locked_until("10.0.0.7", NOW) == NOW + dt.timedelta(minutes=15)
    print(f"\nFIGURE | 20 mots de passe faux en même temps (threads) : {verifier.checked} vérifiés")


@pytest.mark.parametrize("round_", range(3))
def test_twelve_wrong_and_the_right_one_at_once_check_five(round_, tmp_path, verifier):
    """Every guess asks for its slot before any check ends (the gate): five are checked, the
    right one signs in only if it got one of them, and a lock set meanwhile stays."""
    lockout = CountedLockout(tmp_path / "connexions.sqlite", expected=13)
    verifier.gate = lockout.everyone_asked
    answers = all_at_once(["faux"] * 12 + [PASSWORD], lockout)
    assert verifier.checked == MAX_FAILURES
    assert [identity for identity, _ in answers[:-1]] == [None] * 12
    signed_in = answers[-1][0] is not None
    assert signed_in or "bloquée" in answers[-1][1]
    # By hand: 8 guesses got no slot ("bloquée"); of the five checked, the one holding the last
    # slot locks the client ("bloquée" too) unless it is the right one, which then lifts it. A
    # right one holding an earlier slot forgives only the guesses before it: the lock stays.
    locked = lockout.locked_until("10.0.0.7", NOW) is not None
    assert signed_in or locked
    refused = sum("bloquée" in reason for _, reason in answers if reason)
    assert refused == 13 - MAX_FAILURES + locked


def test_while_locked_the_right_password_is_refused_even_among_others(tmp_path, verifier):
    lockout = SignInLockout(tmp_path / "connexions.sqlite")
    for _ in range(MAX_FAILURES):
        auth.sign_in_with_password("faux", CONFIG, lockout, "10.0.0.7", NOW)
    checked_before = verifier.checked
    answers = all_at_once(["faux"] * 12 + [PASSWORD], lockout)
    assert [identity for identity, _ in answers] == [None] * 13
    assert all("bloquée" in reason for _, reason in answers)
    assert verifier.checked == checked_before  # not one more password checked while locked
    # Another client is not locked out by this one.
    assert auth.sign_in_with_password(PASSWORD, CONFIG, lockout, "10.0.0.8", NOW)[0] is not None


REPLICA = """
import datetime as dt, json, sys, threading, time
from pathlib import Path
from dashboard import auth
from etl.auth.lockout import SignInLockout

path, start_at, tries = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
config = auth.AuthConfig(sys.argv[4], oidc=False, allowed_emails=frozenset())
real, checked, lock = auth.verify_password, [0], threading.Lock()

def counting(password, encoded):
    with lock:
        checked[0] += 1
    return real(password, encoded)

auth.verify_password = counting
lockout = SignInLockout(path)
answers = []
time.sleep(max(0.0, start_at - time.time()))
def one():
    answers.append(auth.sign_in_with_password("faux", config, lockout, "10.0.0.7",
                                              dt.datetime(2026, 12, 6, 10, 0))[1])
threads = [threading.Thread(target=one) for _ in range(tries)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"checked": checked[0], "answers": answers}))
"""


@pytest.mark.slow
def test_replicas_of_one_host_share_the_count(tmp_path):
    """Four processes (replicas) send five wrong passwords each at the same instant."""
    path = tmp_path / "connexions.sqlite"
    replicas, tries = 4, 5
    start_at = time.time() + 8  # every process has imported Streamlit by then
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                REPLICA,
                str(path),
                str(start_at),
                str(tries),
                CONFIG.password_hash,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(replicas)
    ]
    try:
        outputs = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    finally:
        for process in processes:
            process.kill()
    checked = sum(output["checked"] for output in outputs)
    answers = [answer for output in outputs for answer in output["answers"]]
    assert len(answers) == replicas * tries
    assert checked == MAX_FAILURES
    assert sum("bloquée" in answer for answer in answers) == replicas * tries - (MAX_FAILURES - 1)
    print(
        f"\nFIGURE | {replicas} processus × {tries} mots de passe faux en même temps : "
        f"{checked} vérifiés"
    )


def test_the_count_lives_in_one_file_for_every_session(tmp_path):
    """Two lockouts on the same file (two replicas) see the same count and the same lock."""
    path = tmp_path / "connexions.sqlite"
    first, second = SignInLockout(path), SignInLockout(path)
    for _ in range(MAX_FAILURES - 1):
        assert first.attempt("ip", NOW).allowed
    last = second.attempt("ip", NOW)
    assert last.allowed and last.locked_until == NOW + dt.timedelta(minutes=15)
    assert not first.attempt("ip", NOW + dt.timedelta(minutes=1)).allowed
    assert first.attempt("ip", NOW + dt.timedelta(minutes=15)).allowed  # the lock is over


def test_old_failures_are_forgotten_after_the_window(tmp_path):
    lockout = SignInLockout(tmp_path / "connexions.sqlite")
    for _ in range(MAX_FAILURES - 1):
        lockout.attempt("ip", NOW)
    fresh = lockout.attempt("ip", NOW + dt.timedelta(minutes=16))
    assert fresh.allowed and fresh.locked_until is None and fresh.remaining == MAX_FAILURES - 1


def test_a_lockout_file_that_cannot_be_written_refuses_password_sign_in(tmp_path, verifier):
    folder = tmp_path / "lecture-seule"
    folder.mkdir()
    lockout = SignInLockout(folder / "absent" / "connexions.sqlite")  # its folder does not exist
    identity, reason = auth.sign_in_with_password(PASSWORD, CONFIG, lockout, "ip", NOW)
    assert identity is None and "indisponible" in reason
    assert verifier.checked == 0


def test_the_lockout_file_follows_the_deployment(tmp_path, monkeypatch):
    from etl.auth.lockout import default_path

    monkeypatch.delenv("OBSERVATOIRE_SIGNIN_STATE", raising=False)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    database = tmp_path / "observatoire.duckdb"
    assert default_path(database) == tmp_path / ".observatoire-connexions.sqlite"
    monkeypatch.setenv("OBSERVATOIRE_DB", str(database))  # the dashboard's database, by default
    assert default_path() == tmp_path / ".observatoire-connexions.sqlite"
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/observatoire-connexions")
    assert default_path(database) == Path("/var/lib/observatoire-connexions/connexions.sqlite")
    monkeypatch.setenv("OBSERVATOIRE_SIGNIN_STATE", str(tmp_path / "ici.sqlite"))
    assert default_path(database) == tmp_path / "ici.sqlite"


def test_the_command_line_produces_hashes_without_loading_streamlit():
    """`observatoire motdepasse` hashes with etl/auth/passwords.py: the CLI imports no Streamlit."""
    probe = "import sys, etl.cli, etl.cli_admin; print('streamlit' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
