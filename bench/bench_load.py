"""Submission loading throughput: rows/s from a CSV with full validation, beside DuckDB's own read_csv.

    python -m bench.bench_load [--rows 1000000] [--members 100]

Builds a scratch database (reference data + synthetic members registered through the real
registry code), writes one CSV of valid activity rows (members × months × themes × places, with
the spellings members use: labels, aliases, OFS numbers, thousands separators), then times, in the
same run: `load_files` (read, validate, replace the slices, publish) and DuckDB `read_csv` of the same
file into a table (no validation) as the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from etl.build import init_database
from etl.publish import next_version
from etl.steps.load_reference import default_last_year
from etl.submission.load import load_files, validate_files
from etl.submission.members import register

THEMES_AS_WRITTEN = [
    "alimentation",
    "Hébergement d'urgence, sans-abrisme",
    "logement",
    "Santé",
    "sante_mentale",
    "addictions",
    "Dettes et budget",
    "droits",
    "emploi",
    "formation",
    "migration",
    "famille",
    "jeunesse",
    "seniors",
    "handicap",
    "violences",
    "hygiene",
    "lien_social",
]


def places(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The 45 communes written three ways (name, alias, OFS number) plus the two special places."""
    communes = con.execute("select ofs_number, name from communes order by ofs_number").fetchall()
    written = []
    for index, (ofs, name) in enumerate(communes):
        written.append([name, str(ofs), name.upper()][index % 3])
    return [*written, "hors canton", "non renseignée"]


def synthetic_members(count: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "code": [f"BENCH-{i:03d}" for i in range(1, count + 1)],
            "name": [f"Association de mesure {i}" for i in range(1, count + 1)],
            "categories": "association",
            "themes": "alimentation|hygiene",
            "active_since": "2015-01-01",
            "is_demo": "true",
        }
    )


def activity_csv(
    path: Path,
    members: list[str],
    periods: list[str],
    themes: list[str],
    lieux: list[str],
    rows: int,
) -> int:
    """Valid rows (breakdowns within `personnes`), cut to `rows`; returns the number written."""
    grid = (
        pl.DataFrame({"membre": members})
        .join(pl.DataFrame({"periode": periods}), how="cross")
        .join(pl.DataFrame({"theme": themes}), how="cross")
        .join(pl.DataFrame({"commune": lieux}), how="cross")
        .head(rows)
    )
    n = grid.height
    index = pl.int_range(0, n, eager=True)
    persons = (index * 7919 % 2000).alias("p")
    frame = grid.with_columns(
        # one count in ten written with a Swiss thousands separator, as members do
        pl.when(persons % 10 == 0)
        .then(
            (persons // 1000).cast(pl.String) + "'" + (persons % 1000).cast(pl.String).str.zfill(3)
        )
        .otherwise(persons.cast(pl.String))
        .alias("personnes"),
        (persons * 3).alias("prestations"),
        (persons // 4).alias("nouvelles_personnes"),
        (persons // 2).alias("femmes"),
        (persons // 3).alias("hommes"),
        (persons // 5).alias("mineurs"),
        (persons // 6).alias("seniors_65"),
        (persons % 7).alias("demandes_non_satisfaites"),
        pl.lit(None, pl.Int64).alias("liste_attente"),
    )
    frame.write_csv(path, separator=";")
    return n


@dataclass(frozen=True)
class LoadMeasurement:
    """Seconds of each phase of one load of `rows` rows, and of DuckDB's read_csv of the file."""

    rows: int
    csv_bytes: int
    validate_s: float  # validate_files alone (read + rules), nothing written
    own_s: float  # load_files up to the derived tables: read, validate, write the slices
    write_s: float  # of which: delete + insert in the copy
    derived_s: float  # aggregates, public file, publication
    load_s: float  # load_files in all
    load_cpu_s: float
    duckdb_s: float  # read_csv into a table, checkpointed (no validation)

    def rate(self, seconds: float) -> float:
        return self.rows / seconds if seconds else float("nan")


def measure_load(
    csv_path: Path, db_path: Path, rows: int, *, validate_alone: bool = True
) -> LoadMeasurement:
    """Validate alone, then load with `load_files` into `db_path` (members already registered),
    then DuckDB `read_csv` of the same file into a scratch table beside it."""
    validate_s = float("nan")
    if validate_alone:
        started = time.perf_counter()
        [checked] = validate_files([csv_path], db_path)
        validate_s = time.perf_counter() - started
        assert checked.status == "valide", checked.issues[:5]

    marks: dict[str, float] = {}

    def progress(step: str) -> None:  # the first time each phase starts
        phase = step.split(" : ")[-1].split(" (")[0]
        marks.setdefault(phase, time.perf_counter())

    started = time.perf_counter()
    cpu_started = time.process_time()
    [loaded] = load_files([csv_path], db_path, is_demo=True, progress=progress)
    load_s = time.perf_counter() - started
    load_cpu = time.process_time() - cpu_started
    assert loaded.status == "charge", loaded.issues[:5]
    derived_mark = marks["agrégats et vues publiques"]

    baseline_path = db_path.with_name(f"{db_path.stem}-read_csv.duckdb")
    baseline_path.unlink(missing_ok=True)
    baseline = duckdb.connect(str(baseline_path))
    started_baseline = time.perf_counter()
    baseline.execute(
        "create table activity as select * from read_csv(?, delim = ';', header = true)",
        [str(csv_path)],
    )
    baseline.execute("checkpoint")
    duckdb_s = time.perf_counter() - started_baseline
    baseline.close()
    baseline_path.unlink(missing_ok=True)
    return LoadMeasurement(
        rows=rows,
        csv_bytes=csv_path.stat().st_size,
        validate_s=validate_s,
        own_s=derived_mark - started,
        write_s=derived_mark - marks["écriture"],
        derived_s=started + load_s - derived_mark,
        load_s=load_s,
        load_cpu_s=load_cpu,
        duckdb_s=duckdb_s,
    )


def print_measurement(m: LoadMeasurement) -> None:
    print(f"{'étape':<62}{'secondes':>10}{'lignes/s':>14}")
    for label, seconds in [
        ("validation seule (validate_files : lecture + règles)", m.validate_s),
        ("load_files : lecture + validation + écriture des tranches", m.own_s),
        ("   dont écriture (delete + insert dans la copie)", m.write_s),
        ("load_files : agrégats dérivés + fichier public + publication", m.derived_s),
        ("load_files en tout", m.load_s),
        ("DuckDB read_csv → table, sans validation (référence)", m.duckdb_s),
    ]:
        print(f"{label:<62}{seconds:>10.2f}{m.rate(seconds):>14,.0f}")
    print(
        f"(load_files : {m.load_cpu_s:.1f} s de CPU pour {m.load_s:.1f} s écoulées ; sur une machine "
        "chargée, l'écart vient des autres processus)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        directory = Path(scratch)
        db_path = directory / "bench.duckdb"
        init_database(db_path)
        registry = directory / "members.csv"
        members = synthetic_members(args.members)
        members.write_csv(registry)
        with next_version(db_path) as con:
            register(con, registry, is_demo=True)
            lieux = places(con)
        year = default_last_year() - 1
        periods = [f"{year}-{month:02d}" for month in range(1, 13)]
        csv_path = directory / "activite.csv"
        started = time.perf_counter()
        n = activity_csv(
            csv_path, members["code"].to_list(), periods, THEMES_AS_WRITTEN, lieux, args.rows
        )
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"CSV : {n:,} lignes, {size_mb:.1f} Mo, écrit en {time.perf_counter() - started:.1f} s"
        )

        print_measurement(measure_load(csv_path, db_path, n))


if __name__ == "__main__":
    main()
