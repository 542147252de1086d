"""The benchmark harness still runs: every section on a tiny demo, one repetition, table printed.

No timing is asserted here (DESIGN §8: benchmarks measure, tests check behaviour); `make bench`
checks the targets in its own output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ["etl", "pages", "queries", "pandas", "browser"]


@pytest.mark.slow
def test_bench_runs_every_section_and_prints_the_targets(tmp_path):
    sections = SECTIONS if Path("/usr/bin/chromium").exists() else SECTIONS[:-1]
    results = tmp_path / "RESULTS.md"
    # A previous file: its generated part is replaced, the sections measured by other commands
    # (between the kept markers, and the signals') stay, in that order.
    results.write_text(
        "# Benchmark results\n\nOLD GENERATED TABLE\n\n<!-- kept:start -->\n## Phase measured by hand"
        "\n<!-- kept:end -->\n\n<!-- signals:start -->\n## Signals by hand\n<!-- signals:end -->\n"
    )
    command = [
        sys.executable, "-m", "bench",
        "--echelles", "0.04",
        "--annees", "2023-2024",
        "--repetitions", "1",
        "--sections", ",".join(sections),
        "--resultats", str(results),
        "--sortie", str(tmp_path / "out"),
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("OBSERVATOIRE_DB", None)
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    output = done.stdout
    assert done.returncode == 0, output[-3000:] + done.stderr[-3000:]
    # The summary table names every target measured, each met or with its gap.
    assert "## Targets at 0.04×" in output
    target_rows = [line for line in output.splitlines() if "| met |" in line or "| GAP:" in line]
    assert len(target_rows) == (8 if "browser" in sections else 5), target_rows
    # Every section produced its table, and the queries the pages ran were measured.
    for heading in ("## ETL", "### Queries at 0.04×", "### The pandas way", "### Server-side"):
        assert heading in output
    assert "overview_kpis" in output and "needs_commune_theme" in output
    if "browser" in sections:
        assert "## Browser" in output
    written = results.read_text()
    assert written.startswith("# Benchmark results") and "## Machine and run" in written
    assert "OLD GENERATED TABLE" not in written
    machine, kept, signals = (
        written.index(text)
        for text in ("## Machine and run", "## Phase measured by hand", "## Signals by hand")
    )
    assert machine < kept < signals
    assert (tmp_path / "out" / "results.json").exists()
