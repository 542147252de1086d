"""Worker processes of etl/parallel.py: they start without the parent's script, import only what
their work needs, and hand a worker's French error to the caller unchanged (#19 item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import parallel_work
import pytest

from etl import parallel
from etl.errors import UserError

ROOT = Path(__file__).resolve().parents[1]

# A stand-in for the `observatoire` script: importing it leaves a mark. Spawned workers used to
# run it again (as __mp_main__), which for the real script meant importing the whole CLI.
SCRIPT = """
import os, sys
with open(sys.argv[1], "a") as marks:
    marks.write(f"{os.getpid()}\\n")
from etl import parallel
from parallel_work import square_and_pid

if __name__ == "__main__":
    results = list(parallel.ordered_map(square_and_pid, range(12), 100, min_items_per_worker=1))
    assert [value for value, _ in results] == [n * n + 100 for n in range(12)], results
    workers = {pid for _, pid in results}
    assert workers and os.getpid() not in workers, workers
    assert sys.modules["__main__"].__file__ == __file__  # put back after the workers started
    print(os.getpid())
"""


def _run_script(tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    script, marks = tmp_path / "heavy_script.py", tmp_path / "marks.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
        parallel.WORKERS_ENV_VAR: "2",
    }
    done = subprocess.run(
        [sys.executable, str(script), str(marks)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, marks.read_text().split()


def test_workers_do_not_run_the_parent_script_again(tmp_path):
    done, marks = _run_script(tmp_path)
    assert done.returncode == 0, done.stderr
    # The script ran once, in the parent (its pid printed last); no worker ran it.
    assert marks == [done.stdout.strip()], marks


HEAVY = ("etl.build", "etl.public", "etl.cli", "statsmodels", "scipy", "duckdb")


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("etl.demo.member_files", {"duckdb"}),  # writing a demo member's files
        ("etl.submission.batch", {"duckdb"}),  # reading and checking a member's file
    ],
)
def test_a_worker_imports_only_what_its_work_needs(monkeypatch, module, allowed):
    monkeypatch.setenv(parallel.WORKERS_ENV_VAR, "2")
    loaded = list(
        parallel.ordered_map(
            parallel_work.modules_after_importing, [module, module], HEAVY, min_items_per_worker=1
        )
    )
    assert len(loaded) == 2
    for names in loaded:
        assert set(names) <= allowed, names


def test_a_worker_error_reaches_the_caller_as_the_same_french_error(monkeypatch):
    monkeypatch.setenv(parallel.WORKERS_ENV_VAR, "2")
    results = parallel.ordered_map(
        parallel_work.refuse_seven, range(12), None, min_items_per_worker=1
    )
    with pytest.raises(UserError) as raised:
        list(results)
    assert str(raised.value) == ("Fichier n° 7 : la colonne « personnes » attend un nombre entier.")
