"""Where the project keeps its files; the database location can be overridden by the environment."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
QUERIES_DIR = ROOT / "queries"
# The raw compilation the reference data is normalised from, kept in the repository with its own
# SOURCES.md (every URL); data/reference/*.csv is our typed copy, rebuilt from it by
# `python -m etl.steps.normalise_reference`.
RAW_REFERENCE_DIR = REFERENCE_DIR / "raw"

DB_ENV_VAR = "OBSERVATOIRE_DB"


def database_path() -> Path:
    """The database's name: $OBSERVATOIRE_DB, or data/observatoire.duckdb (absolute, links not
    followed: the name points to the current release, etl/release.py)."""
    return Path(os.path.abspath(os.environ.get(DB_ENV_VAR) or DATA_DIR / "observatoire.duckdb"))
