"""Where the project keeps its files; the database location can be overridden by the environment."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
QUERIES_DIR = ROOT / "queries"
# The upstream compilation shared by the team (read only); data/reference/ is our normalised copy.
SHARED_REFERENCE_DIR = ROOT.parent / "shared" / "reference"

DB_ENV_VAR = "OBSERVATOIRE_DB"


def database_path() -> Path:
    """The published database file: $OBSERVATOIRE_DB, or data/observatoire.duckdb."""
    return Path(os.environ.get(DB_ENV_VAR) or DATA_DIR / "observatoire.duckdb").resolve()
