"""`observatoire retirer`: a loaded slice removed, recorded and republished; refusals leave the file as
it was; a database from before removals accepts their status."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from admin_support import MEMBER, PERIOD, loaded_copy, rows
from typer.testing import CliRunner

from etl import db, incremental
from etl.cli import app
from etl.errors import UserError
from etl.paths import SCHEMA_DIR
from etl.public import public_path
from etl.submission.remove import remove_slices

SLICE = "member_code = ? and period_code = ?"
INSERT_RUN = "insert into load_runs (started_at, username, kind, status) values (now(), ?, ?, ?)"


@pytest.fixture
def loaded(demo_db, tmp_path) -> Path:
    """The demo plus the test workbook: DEMO-ALIM-01 × 2025-T1, 3 activity rows (120 + 35 + 3
    persons), 1 service, 2 observations; the demo itself stops in 2024."""
    return loaded_copy(demo_db, tmp_path)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count(db_path: Path, table: str, where: str = "true", params: list | None = None) -> int:
    return rows(db_path, f"select count(*) from {table} where {where}", params)[0][0]


HEADLINE_2025 = "year = 2025 and theme = '*' and lieu = '*' and category = '*'"


def persons_2025(db_path: Path) -> list[tuple]:
    """Every person served in 2025 as published (the public file's year cube, all levels): the
    count, or None when disclosure control withholds it (one member's three rows are the whole
    year, so the canton's total may be what protects its 3), with the flag."""
    con = duckdb.connect(str(public_path(db_path)), read_only=True)
    try:
        return con.execute(
            f"select personnes, personnes_supprime from public.activity_year_cube where {HEADLINE_2025}"
        ).fetchall()
    finally:
        con.close()


def test_removing_a_slice_deletes_its_rows_records_why_and_republishes(loaded):
    activity_before = count(loaded, "activity")
    assert count(loaded, "activity", SLICE, [MEMBER, PERIOD]) == 3
    raw_total = rows(loaded, f"select personnes from agg_activity_year_cube where {HEADLINE_2025}")
    assert raw_total == [(120 + 35 + 3,)]
    assert persons_2025(loaded) in ([(120 + 35 + 3, False)], [(None, True)])

    removed = remove_slices(
        loaded, "demo-alim-01", ["2025-t1"], reason="mauvaise période", user="Anna"
    )

    assert [(s.member_code, s.period_code) for s in removed] == [(MEMBER, PERIOD)]
    assert removed[0].rows == {"activity": 3, "services": 1, "observations": 2}
    for table in ("activity", "services", "observations", "submissions"):
        assert count(loaded, table, SLICE, [MEMBER, PERIOD]) == 0, table
    assert count(loaded, "activity") == activity_before - 3  # nothing else touched
    assert persons_2025(loaded) == []  # the public file was rebuilt without it
    kind, status, user, member, period, message = rows(
        loaded,
        """select kind, status, username, member_code, period_code, message
           from load_runs order by run_id desc limit 1""",
    )[0]
    assert (kind, status, user, member, period) == ("retrait", "retire", "Anna", MEMBER, PERIOD)
    assert "3 ligne(s) d'activité, 1 service(s), 2 observation(s)" in message
    assert message.endswith("motif : mauvaise période")


@pytest.mark.parametrize(
    ("member", "periods", "reason", "expected"),
    [
        (MEMBER, ["2025-T2"], "x", r"Rien n'est chargé pour DEMO-ALIM-01 × 2025-T2.*2025-T1"),
        ("INCONNU-99", [PERIOD], "x", "Membre inconnu : « INCONNU-99 »"),
        (MEMBER, [], "x", "au moins une période"),
        (MEMBER, [PERIOD], "  ", "motif du retrait"),
    ],
)
def test_refusals_are_clear_and_change_nothing(loaded, member, periods, reason, expected):
    before = (digest(loaded), digest(public_path(loaded)))
    with pytest.raises(UserError, match=expected):
        remove_slices(loaded, member, periods, reason=reason)
    assert (digest(loaded), digest(public_path(loaded))) == before


def test_one_missing_period_among_several_removes_none(loaded):
    with pytest.raises(UserError, match="2024-T9"):
        remove_slices(loaded, MEMBER, [PERIOD, "2024-T9"], reason="x")
    assert count(loaded, "activity", SLICE, [MEMBER, PERIOD]) == 3


def test_command_asks_before_removing(loaded):
    runner = CliRunner()
    args = ["retirer", MEMBER, PERIOD, "--motif", "doublon", "--base", str(loaded)]
    declined = runner.invoke(app, args, input="non\n")
    assert declined.exit_code == 1
    assert "3 ligne(s) d'activité" in declined.output and "Rien n'a été retiré" in declined.output
    assert count(loaded, "activity", SLICE, [MEMBER, PERIOD]) == 3
    accepted = runner.invoke(app, args, input="oui\n")
    assert accepted.exit_code == 0, accepted.output
    assert count(loaded, "activity", SLICE, [MEMBER, PERIOD]) == 0
    again = runner.invoke(app, [*args, "--oui"])
    assert again.exit_code == 1 and "Rien n'est chargé" in again.output


def test_a_database_from_before_removals_accepts_their_status():
    con = duckdb.connect(":memory:")
    old = (SCHEMA_DIR / "003_load_runs.sql").read_text(encoding="utf-8")
    con.execute(old.replace(", 'retire'", ""))  # load_runs as created before removals existed
    con.execute(
        """insert into load_runs (started_at, username, kind, status)
           values (now(), 'a', 'init', 'charge'), (now(), 'b', 'soumission', 'rejete')"""
    )
    with pytest.raises(duckdb.ConstraintException):
        con.execute(INSERT_RUN, ["c", "retrait", "retire"])
    db.migrate(con)
    db.migrate(con)  # idempotent
    con.execute(INSERT_RUN, ["c", "retrait", "retire"])
    kept = con.execute("select run_id, username, status from load_runs order by run_id").fetchall()
    # Same rows, same ids; the sequence goes on (the refused insert above used one number).
    assert kept[:2] == [(1, "a", "charge"), (2, "b", "rejete")]
    assert kept[2][1:] == ("c", "retire") and kept[2][0] > 2
    with pytest.raises(duckdb.ConstraintException):  # the check itself is still there
        con.execute(INSERT_RUN, ["d", "x", "nimporte"])


@pytest.mark.parametrize("full", [False, True])
def test_command_rebuilds_the_removed_years_or_every_year_when_asked(loaded, monkeypatch, full):
    scopes: list[incremental.Scope] = []
    real_refresh = db.refresh_derived

    def spied_refresh(con, scope=incremental.FULL):
        scopes.append(scope)
        return real_refresh(con, scope)

    monkeypatch.setattr(db, "refresh_derived", spied_refresh)
    args = ["retirer", MEMBER, PERIOD, "--motif", "doublon", "--oui", "--base", str(loaded)]
    result = CliRunner().invoke(app, [*args, "--complet"] if full else args)
    assert result.exit_code == 0, result.output
    assert count(loaded, "activity", SLICE, [MEMBER, PERIOD]) == 0
    (scope,) = scopes
    assert scope.full is full
    if not full:
        assert scope.years == {int(PERIOD[:4])}
