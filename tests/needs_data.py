"""A small database with known activity, for the needs, coverage and brief tests.

The real reference data (communes, populations, indicators, boundaries) is loaded by the real
`init_database`; a few activity and service rows whose sums can be checked by hand are then added
and published the way the ETL publishes (derived tables, then the public file with disclosure
control). Year 2024, annual submissions:

| member | theme        | place             | persons | unmet |
|--------|--------------|-------------------|---------|-------|
| M1     | alimentation | Carouge 6608      | 20      | 6     |
| M2     | alimentation | Carouge 6608      | 10      | –     |
| M1     | alimentation | Genève 6621       | 400     | 40    |
| M1     | alimentation | Onex 6631         | 3       | –     |  ← 1–4: suppressed
| M1     | alimentation | Anières 6602      | 5       | –     |  ← second suppression
| M1     | alimentation | Thônex 6640       | 12      | –     |  ← population 2024 carried forward
| M2     | alimentation | hors canton       | 7       | –     |
| M1     | seniors      | Genève 6621       | 50      | –     |
| M1     | seniors      | Carouge 6608      | 0       | –     |

So alimentation in the canton (the 45 communes): 20 + 10 + 400 + 3 + 5 + 12 = 450 persons.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from demo_settings import LATEST_COMPLETE_YEAR as YEAR

from etl import db, public
from etl.build import record_run
from etl.publish import next_version
from etl.steps import load_reference

CAROUGE, GENEVE, ONEX, ANIERES, THONEX, LANCY = 6608, 6621, 6631, 6602, 6640, 6628
ALIMENTATION_CANTON = 450

MEMBERS = [
    ("M1", "Association Une", ["association"], ["alimentation", "seniors"]),
    ("M2", "Fondation Deux", ["fondation"], ["alimentation", "hebergement"]),
]
# member, theme, lieu, ofs_number, personnes, demandes_non_satisfaites
ACTIVITY = [
    ("M1", "alimentation", str(CAROUGE), CAROUGE, 20, 6),
    ("M2", "alimentation", str(CAROUGE), CAROUGE, 10, None),
    ("M1", "alimentation", str(GENEVE), GENEVE, 400, 40),
    ("M1", "alimentation", str(ONEX), ONEX, 3, None),
    ("M1", "alimentation", str(ANIERES), ANIERES, 5, None),
    ("M1", "alimentation", str(THONEX), THONEX, 12, None),
    ("M2", "alimentation", "hors_canton", None, 7, None),
    ("M1", "seniors", str(GENEVE), GENEVE, 50, None),
    ("M1", "seniors", str(CAROUGE), CAROUGE, 0, None),
]
# member, no, name, theme, located in, communes served, whole canton
SERVICES = [
    ("M1", 1, "Épicerie solidaire", "alimentation", CAROUGE, [CAROUGE, ONEX], False),
    ("M2", 1, "Accueil de nuit", "hebergement", GENEVE, [], True),
]


def build_needs_db(path: Path) -> Path:
    """Create the database at `path` (and its public file) with the rows above, in one publish."""
    with next_version(path, from_scratch=True) as con:
        db.apply_schema(con)
        load_reference.run(con)
        _insert(con)
        db.refresh_derived(con)
        record_run(con, started_at=dt.datetime(2025, 2, 1, 10, 0), kind="init", status="charge")
        public.publish_public(con, path)
    return path


def _insert(con) -> None:
    now = dt.datetime(2025, 2, 1, 10, 0)
    for load_id, (code, name, categories, themes) in enumerate(MEMBERS, start=1):
        con.execute(
            "insert into members values (?, ?, ?, ?, ?, false)",
            [code, name, categories, themes, dt.date(2010, 1, 1)],
        )
        con.execute(
            "insert into submissions values (?, ?, ?, ?, ?, null, null, ?)",
            [code, str(YEAR), load_id, "0" * 64, f"{code}.xlsx", now],
        )
    load_ids = {code: index for index, (code, *_) in enumerate(MEMBERS, start=1)}
    for code, theme, lieu, ofs, persons, unmet in ACTIVITY:
        con.execute(
            """insert into activity (load_id, member_code, period_code, year, theme, lieu,
                   ofs_number, personnes, demandes_non_satisfaites, is_demo)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, false)""",
            [load_ids[code], code, str(YEAR), YEAR, theme, lieu, ofs, persons, unmet],
        )
    for code, number, name, theme, ofs, served, whole in SERVICES:
        con.execute(
            """insert into services (load_id, member_code, period_code, service_no, nom, theme,
                   type, lieu, ofs_number, communes_desservies, tout_le_canton, adresse, is_demo)
               values (?, ?, ?, ?, ?, ?, 'permanence', ?, ?, ?, ?, 'Rue du Test 1', false)""",
            [load_ids[code], code, str(YEAR), number, name, theme, str(ofs), ofs, served, whole],
        )
