"""What the page tests read to compute their expectations: the public file, as the pages see it."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl import db as etl_db
from etl.public import open_public_reader, public_path


def public_rows(demo_db: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    """Rows read straight from the public file (what the pages may show)."""
    con = open_public_reader(public_path(demo_db))
    try:
        return etl_db.query(con, sql, params)
    finally:
        con.close()
