"""The concurrency benchmark still runs: two sessions for a few seconds on a tiny demo, one server
and (nginx present) the two replicas behind nginx, one of the two sessions a Chromium page.

No timing is asserted (DESIGN §8): `python -m bench.bench_concurrency` measures, this checks that
every part of it ran and reported what it saw.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("Vue d'ensemble", "Besoins et lacunes", "Fiche communale")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_concurrency_bench_runs_both_setups_and_reports_every_page(tmp_path):
    nginx = shutil.which("nginx") or Path("/usr/sbin/nginx").exists()
    chromium = Path("/usr/bin/chromium").exists()
    setups = "1,2" if nginx else "1"
    command = [
        sys.executable, "-m", "bench.bench_concurrency",
        "--echelle", "0.04", "--annees", "2023-2024",
        "--sessions", "2", "--palier", "4", "--reflexion", "1",
        "--navigateurs", "1" if chromium else "0", "--un-navigateur-sur", "2",
        "--montages", setups, "--sortie", str(tmp_path / "out"),
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("OBSERVATOIRE_DB", None)
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=540, check=False
    )
    output = done.stdout
    assert done.returncode == 0, output[-3000:] + done.stderr[-3000:]
    assert "## Concurrent visitors at 0.04×" in output
    assert "### 1 serveur" in output and "**Knee, 1 serveur**" in output
    assert ("### 2 réplicas + nginx" in output) == bool(nginx)
    assert "### Server CPU per page run" in output

    result = json.loads((tmp_path / "out" / "concurrence-x0.04.json").read_text())["concurrency"]
    assert [setup["setup"] for setup in result["setups"]] == (
        ["1 serveur", "2 réplicas + nginx"] if nginx else ["1 serveur"]
    )
    for setup in result["setups"]:
        [level] = setup["levels"]
        assert level["sessions"] == 2 and level["errors"] == []
        assert level["samples"] and all(sample["ok"] for sample in level["samples"])
        assert level["server_cpu_s"] > 0
        clients = {sample["client"] for sample in level["samples"]}
        assert clients == ({"ws", "chromium"} if chromium else {"ws"})
    # One visitor at a time, each page: opened, reopened cached, filtered (new, then cached).
    assert [page["page"] for page in result["page_cpu"]] == list(PAGES)
    for page in result["page_cpu"]:
        assert page["open_first_cpu_s"] > 0 and page["bytes_per_run"] > 0
        assert page["query_floor_s"] > 0  # its queries were timed in plain DuckDB
    assert all(values for values in result["options"].values())
