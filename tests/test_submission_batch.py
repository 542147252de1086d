"""A batch of files checked by several processes loads exactly as when checked one by one.

The rules that depend on the files loaded before (periods of another rhythm already loaded for the
same member and year, a file identical to the one loaded) must see the earlier files of the same
batch, whichever process checked them (etl/submission/batch.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_submission_support import table

from etl import parallel
from etl.submission import batch
from etl.submission.load import load_files

pytest_plugins = ["test_submission_support"]

MEMBER = "ALIM-01"
MONTHS = [f"{year}-{month:02d}" for year in (2021, 2022) for month in range(1, 13)]


def activity_csv(path: Path, period: str, persons: int, commune: str = "Onex") -> Path:
    path.write_text(
        "membre,periode,theme,commune,personnes\n"
        f"{MEMBER},{period},alimentation,{commune},{persons}\n"
        f"{MEMBER},{period},hygiene,Carouge,{persons + 3}\n",
        encoding="utf-8",
    )
    return path


def batch_files(folder: Path) -> list[Path]:
    """24 monthly files, plus the cases that depend on earlier files of the same batch."""
    folder.mkdir()
    files = [
        activity_csv(folder / f"{period}.csv", period, 10 + number)
        for number, period in enumerate(MONTHS)
    ]
    annual = activity_csv(folder / "annee-2020.csv", "2020", 50)
    quarter = activity_csv(folder / "trimestre-2020-T2.csv", "2020-T2", 12)  # mixes with 2020
    again = folder / "annee-2020-encore.csv"
    shutil.copyfile(annual, again)  # the same bytes: already loaded, earlier in this batch
    wrong = activity_csv(folder / "commune-inconnue.csv", "2020-T3", 9, commune="Atlantide")
    return [annual, *files[:12], quarter, *files[12:], again, wrong]


def load_with_workers(workers: int, fresh_db: Path, files: list[Path], monkeypatch):
    monkeypatch.setenv(parallel.WORKERS_ENV_VAR, str(workers))
    results = load_files(files, fresh_db)
    rows = table(
        fresh_db,
        "select member_code, period_code, theme, lieu, personnes from activity order by all",
    )
    runs = table(fresh_db, "select file_name, status, message from load_runs order by run_id")
    return results, rows, runs


def summary(results) -> list[tuple]:
    return [
        (r.file_name, r.status, r.rows_accepted, r.rows_rejected, [i.message for i in r.issues])
        for r in results
    ]


@pytest.mark.timeout(600)
def test_several_processes_load_a_batch_as_one_process_does(base_db, tmp_path, monkeypatch):
    files = batch_files(tmp_path / "files")
    databases = []
    for workers in (1, 2):
        path = tmp_path / f"workers-{workers}.duckdb"
        shutil.copyfile(base_db, path)
        databases.append(load_with_workers(workers, path, files, monkeypatch))
    (serial_results, serial_rows, serial_runs), (parallel, rows, runs) = databases

    assert summary(parallel) == summary(serial_results)
    assert rows == serial_rows
    assert [run[:2] for run in runs] == [run[:2] for run in serial_runs]
    statuses = {r.file_name: r.status for r in parallel}
    # By hand: the annual 2020 loads first, so the quarter of 2020 mixes rhythms and is refused;
    # the copy of the annual file is the slice's current file; the unknown commune is refused.
    assert statuses["annee-2020.csv"] == "charge"
    assert statuses["trimestre-2020-T2.csv"] == "rejete"
    assert statuses["annee-2020-encore.csv"] == "deja_charge"
    assert statuses["commune-inconnue.csv"] == "rejete"
    assert sum(status == "charge" for status in statuses.values()) == 1 + len(MONTHS)
    quarter = next(r for r in parallel if r.file_name == "trimestre-2020-T2.csv")
    assert any("2020 (déjà chargée)" in issue.message for issue in quarter.issues)
    # 24 months and the year, two rows each (alimentation in Onex, hygiène in Carouge).
    assert len(rows) == 2 * (len(MONTHS) + 1)


def test_a_small_batch_is_checked_in_this_process(monkeypatch):
    monkeypatch.delenv(parallel.WORKERS_ENV_VAR, raising=False)
    assert parallel.worker_count(batch.MIN_FILES_PER_WORKER - 1, batch.MIN_FILES_PER_WORKER) == 1


def test_a_wrong_worker_setting_is_a_french_sentence(monkeypatch):
    from etl.errors import UserError

    monkeypatch.setenv(parallel.WORKERS_ENV_VAR, "beaucoup")
    with pytest.raises(UserError, match="nombre entier"):
        parallel.worker_count(100, batch.MIN_FILES_PER_WORKER)
