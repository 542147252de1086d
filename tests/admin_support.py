"""A member's workbook for the directory, observations and admin tests, and a loaded copy of the demo.

The workbook holds one public and one non-public observation with marker texts, so tests can prove
that the public one reaches the public pages and the other never does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import xlsxwriter

from etl import db as etl_db
from etl.public import public_path
from etl.submission.load import load_files

MEMBER = "DEMO-ALIM-01"
PERIOD = "2025-T1"
PUBLIC_TEXT = "Files d'attente record au marché solidaire PUBLICMARQUEUR7Q"
SECRET_TEXT = "Situation confidentielle d'une famille SECRETMARQUEUR9Z"
SECRET_MARKER = "SECRETMARQUEUR9Z"
SERVICE_NAME = "Épicerie test du samedi"
FILE_NAME = "Paniers Solidaires 2025-T1.xlsx"


def write_workbook(path: Path, *, member: str = MEMBER, period: str = PERIOD) -> Path:
    """A valid submission: 3 activity rows, 1 service, 2 observations (one not public)."""
    year, month = _first_month(period)
    sheets = {
        "identification": [
            ["membre", "periode", "contact", "date_envoi"],
            [member, period, "Secrétariat du membre", f"15.{month:02d}.{year}"],
        ],
        "activite": [
            ["theme", "commune", "personnes", "prestations", "femmes", "hommes"],
            ["alimentation", "Carouge", 120, 480, 70, 50],
            ["alimentation", "Onex", 35, 140, 20, 15],
            ["alimentation", "hors canton", 3, None, None, None],
        ],
        "services": [
            [
                "nom",
                "theme",
                "type",
                "commune",
                "communes_desservies",
                "adresse",
                "horaires",
                "contact",
                "conditions_acces",
                "langues",
                "capacite",
            ],
            [
                SERVICE_NAME,
                "alimentation",
                "distribution",
                "Carouge",
                "Carouge, Onex",
                "Rue du Test 1, 1227 Carouge",
                "sa 9h–12h",
                "022 300 00 00",
                "sur attestation",
                "français, arabe",
                80,
            ],
        ],
        "observations": [
            ["date", "theme", "commune", "niveau", "texte", "public"],
            [f"10.{month:02d}.{year}", "alimentation", "Carouge", "alerte", PUBLIC_TEXT, "oui"],
            [f"12.{month:02d}.{year}", "alimentation", "Carouge", "vigilance", SECRET_TEXT, "non"],
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for row_index, row in enumerate(rows):
            for column_index, value in enumerate(row):
                if value is not None:
                    sheet.write(row_index, column_index, value)
    workbook.close()
    return path


def _first_month(period: str) -> tuple[int, int]:
    """'2025-T2' -> (2025, 4), '2025-03' -> (2025, 3), '2025' -> (2025, 1)."""
    year, _, part = period.partition("-")
    if part.startswith("T"):
        return int(year), 3 * int(part[1:]) - 2
    return int(year), int(part) if part else 1


def copy_database(source: Path, directory: Path) -> Path:
    """A private copy of a raw database and of its public file (tests may write to it)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / source.name
    shutil.copyfile(source, target)
    shutil.copyfile(public_path(source), public_path(target))
    return target


def loaded_copy(demo_db: Path, directory: Path) -> Path:
    """A copy of the demo database with the test workbook loaded through the real ETL."""
    db_path = copy_database(demo_db, directory / "db")
    workbook = write_workbook(directory / "files" / FILE_NAME)
    results = load_files([workbook], db_path)
    assert [r.status for r in results] == ["charge"], [r.issues for r in results]
    return db_path


def rows(db_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = etl_db.open_reader(db_path)
    try:
        return etl_db.query(con, sql, params).rows()
    finally:
        con.close()
