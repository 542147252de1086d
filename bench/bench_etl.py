"""ETL throughput at demo volume: the activity of a demo database, as one member CSV, loaded again.

The demo database at a given scale holds every activity row the generator produced and the loader
accepted. Written back as one submission CSV (the columns members use, communes as OFS numbers),
it is loaded with `load_files` into a fresh database where the same members are registered, and
read by DuckDB's `read_csv` as the baseline (bench/bench_load.py measures both).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from bench.bench_load import LoadMeasurement, measure_load
from bench.databases import PLACE_AS_WRITTEN
from etl import release
from etl.build import init_database
from etl.publish import next_version
from etl.submission.members import register
from etl.vocabulary import CUBE_MEASURES

ACTIVITY_COLUMNS = CUBE_MEASURES


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_submission(raw: Path, directory: Path) -> tuple[Path, Path, int]:
    """(members registry CSV, activity CSV, rows) written from the demo database `raw`."""
    registry, activity = directory / "membres.csv", directory / "activite.csv"
    places = " ".join(f"when '{lieu}' then '{text}'" for lieu, text in PLACE_AS_WRITTEN.items())
    counts = ", ".join(ACTIVITY_COLUMNS)
    con = duckdb.connect(str(release.current(raw).raw), read_only=True)
    try:
        con.execute(
            f"""copy (select code, name, array_to_string(categories, '|') as categories,
                         array_to_string(themes, '|') as themes, active_since,
                         case when is_demo then 'true' else 'false' end as is_demo
                      from members order by code)
                to {_literal(registry)} (header, delimiter ',')"""
        )
        con.execute(
            f"""copy (select member_code as membre, period_code as periode, theme,
                         case when ofs_number is not null then cast(ofs_number as varchar)
                              else case lieu {places} end end as commune,
                         {counts}
                      from activity order by member_code, period_code, theme, lieu)
                to {_literal(activity)} (header, delimiter ';')"""
        )
        rows = con.sql("select count(*) from activity").fetchall()[0][0]
    finally:
        con.close()
    return registry, activity, rows


def reference_database(directory: Path) -> Path:
    """A database holding only the reference data, copied for each load (built once per run)."""
    path = directory / "reference.duckdb"
    if not path.exists():
        init_database(path)
    return path


def measure_demo_load(raw: Path, scratch: Path, *, validate_alone: bool = True) -> LoadMeasurement:
    """Export `raw`'s activity, register its members in a copy of the reference database, load."""
    scratch.mkdir(parents=True, exist_ok=True)
    reference = reference_database(scratch.parent)
    work = scratch / "load"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    registry, activity, rows = export_submission(raw, work)
    db_path = work / "observatoire.duckdb"
    shutil.copyfile(reference, db_path)
    with next_version(db_path) as con:
        register(con, registry, is_demo=True)
    try:
        return measure_load(activity, db_path, rows, validate_alone=validate_alone)
    finally:
        shutil.rmtree(work, ignore_errors=True)
