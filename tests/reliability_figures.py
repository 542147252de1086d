"""Run the reliability scenarios and print their figures (what RELIABILITY.md reports).

    .venv/bin/python tests/reliability_figures.py

Runs the reliability test files with their output shown, keeps the lines they print with
« FIGURE | » (inputs tried, faults injected, load held) and pytest's summary, and prints them with
the wall time and the machine's load. Exits with pytest's status: figures from a failing run are
not figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    "tests/test_bad_inputs.py",
    "tests/test_fuzz_loader.py",
    "tests/test_hostile_urls.py",
    "tests/test_concurrent_load.py",
    "tests/test_release.py",
    "tests/test_signin_lockout.py",
    "tests/test_hsds_schema.py",
    "tests/test_spreadsheet_safety.py",
    "tests/test_submission_traps.py",
    "tests/test_cli_safety.py",
    "tests/test_cli_french.py",
]
PREFIX = "FIGURE | "


def main() -> int:
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", *FILES],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    minutes = (time.monotonic() - started) / 60
    lines = done.stdout.splitlines()
    for line in lines:
        if PREFIX in line:
            print("-", line.split(PREFIX, 1)[1])
    summary = next((line for line in reversed(lines) if " in " in line and "passed" in line), "")
    print(f"- pytest : {summary.strip('= ')}")
    print(
        f"- durée totale {minutes:.1f} min sur {os.cpu_count()} cœurs "
        f"(charge moyenne {load_before:.1f} au départ, {os.getloadavg()[0]:.1f} à la fin)"
    )
    if done.returncode:
        print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
