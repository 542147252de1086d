"""A clone of the repository is all a user has: nothing in it may point at the development
workspace's shared folder, which exists only beside the team's checkouts (issue #13)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = "../" + "shared"  # spelt in two parts so that this file does not match itself


def test_no_tracked_file_points_outside_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    offenders = []
    for name in filter(None, tracked):
        path = ROOT / name.decode()
        if not path.is_file() or path.suffix in {".png", ".pdf", ".duckdb", ".parquet", ".xlsx"}:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        offenders += [
            f"{name.decode()}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE in line
        ]
    assert offenders == [], offenders
