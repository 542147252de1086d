"""Shared helpers for the submission tests: a base database with test members, file writers.

Imported by the other tests/test_submission_*.py modules (it holds no test itself).
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from pathlib import Path

import pytest
import xlsxwriter

from etl.build import init_database
from etl.db import open_reader
from etl.publish import next_version
from etl.submission.members import register
from etl.submission.results import FileResult

MEMBERS_CSV = """code,name,categories,themes,active_since,is_demo
ALIM-01,Colis du cœur,association,alimentation|hygiene,2015-01-01,
HEB-02,Le Caré,association|fondation,hebergement|lien_social,,false
SANTE-03,Point d'eau,association,sante|hygiene,2010-06-01,
"""
DEMO_MEMBERS_CSV = """code,name,categories,themes,active_since,is_demo
DEMO-01,Association fictive (démo),association,alimentation,2012-01-01,true
"""
TODAY = dt.date.today()
NEXT_YEAR = str(TODAY.year + 1)  # exists in `periods` (reference goes one year ahead), not started


@functools.cache
def _base_database(directory: str) -> Path:
    path = Path(directory) / "base.duckdb"
    init_database(path)
    registry = Path(directory) / "members.csv"
    registry.write_text(MEMBERS_CSV, encoding="utf-8")
    demo = Path(directory) / "members_demo.csv"
    demo.write_text(DEMO_MEMBERS_CSV, encoding="utf-8")
    with next_version(path) as con:
        register(con, registry, is_demo=False)
        register(con, demo, is_demo=True)
    return path


@pytest.fixture(scope="session")
def base_db(tmp_path_factory) -> Path:
    """Reference data plus three real test members and one demo member (never written by tests)."""
    return _base_database(str(tmp_path_factory.getbasetemp() / "submission_base"))


@pytest.fixture
def fresh_db(base_db, tmp_path) -> Path:
    """A private copy of the base database that a test may load into."""
    path = tmp_path / "obs.duckdb"
    shutil.copyfile(base_db, path)
    return path


def write_xlsx(
    path: Path,
    sheets: dict[str, list[list]],
    merges: dict[str, list[str]] | None = None,
    start: str = "A1",
) -> Path:
    """A workbook: each sheet is a list of rows (None = empty cell); merges as 'A1:C1' ranges."""
    workbook = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.date):
                    sheet.write_datetime(
                        r, c, value, workbook.add_format({"num_format": "dd.mm.yyyy"})
                    )
                else:
                    sheet.write(r, c, value)
        for reference in (merges or {}).get(name, []):
            first, last = reference.split(":")
            first_value = _value_at(rows, first)
            sheet.merge_range(reference, first_value if first_value is not None else "")
    workbook.close()
    return path


def _value_at(rows: list[list], reference: str):
    from etl.submission.reader import _cell_position

    r, c = _cell_position(reference)
    return rows[r][c] if r < len(rows) and c < len(rows[r]) else None


def workbook(
    path: Path,
    activity: list[list],
    *,
    member="ALIM-01",
    period="2024",
    services: list[list] | None = None,
    observations: list[list] | None = None,
) -> Path:
    """The usual layout: identification (label | value) and an activity table with a header row."""
    sheets = {
        "identification": [["membre", member], ["periode", period], ["contact", "Mme Test"]],
        "activite": activity,
    }
    if services is not None:
        sheets["services"] = services
    if observations is not None:
        sheets["observations"] = observations
    return write_xlsx(path, sheets)


ACTIVITY_HEADER = ["theme", "commune", "personnes", "femmes", "hommes"]


def messages(result: FileResult) -> str:
    return "\n".join(issue.message for issue in result.issues)


def errors_at(result: FileResult, sheet: str, row: int | None = None) -> list:
    return [i for i in result.errors if i.sheet == sheet and (row is None or i.row == row)]


def table(db_path: Path, sql: str) -> list[tuple]:
    con = open_reader(db_path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def validated(path: Path, db_path: Path):
    """Read and validate one file against the database, returning the typed frames and issues."""
    from etl.submission.lookups import Lookups
    from etl.submission.reader import read_file
    from etl.submission.validate import validate_raw

    con = open_reader(db_path)
    try:
        lookups = Lookups.from_db(con)
    finally:
        con.close()
    return validate_raw(read_file(path), lookups)
