"""Small loads into a large database (#19, item 3): one member's quarter loaded, all in, step by step.

    python -m bench.bench_small_load --echelle 30 [--source bench/out/db/…/x30.duckdb] [--fois 2]

Copies the current release (raw and public files) of the demo database at the scale into a scratch
folder (the source is never written), then loads the same member's quarter (a replacement of its
last quarter, one more person per row, a new file each time) by `load_files`, alternately with a
full rebuild forced (OBSERVATOIRE_RECONSTRUCTION_COMPLETE=1) and as every load runs (incremental:
only the year it touches; it can keep the other years because the full rebuild before it left a
release this code derived). Each load is timed all in and step by
step (the publish's functions wrapped for the run), beside its physical references: copying the raw
file, reading the touched slices, scanning the activity table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from bench import machine
from bench.databases import OUT_DIR, demo_database
from etl import db, incremental, public, publish, release
from etl.analysis import feed
from etl.paths import SCHEMA_DIR
from etl.submission import load
from etl.vocabulary import CUBE_MEASURES

# (module, function, step name): the steps of a load, in the order they run.
STEPS = (
    (publish, "_new_build", "copie du fichier brut"),
    (load, "_load_one", "lecture, validation, écriture"),
    (incremental, "slices_scope", "périmètre + cubes gardés"),
    (db, "apply_schema", "schéma de base"),
    (public, "read_public_layer", "lecture de la couche publique"),
    (public, "protect_activity_cubes", "protection + audit"),
    (public, "gap_analysis_tables", "analyse des écarts"),
    (public, "signal_tables", "signaux"),
    (public, "release_row", "ligne de version"),
    (public, "write_public_file", "écriture du fichier public"),
    (feed, "write_signals_feed", "flux Atom"),
    (publish, "_finish", "bascule (checkpoint, manifeste, lien)"),
)
COUNTS = ", ".join(CUBE_MEASURES)  # the cubes' measures: the columns of a member's file


@contextlib.contextmanager
def step_clock() -> Iterator[dict[str, float]]:
    """Seconds spent in each step while the block runs (the functions wrapped, then restored)."""
    seconds: dict[str, float] = {}
    saved = [(module, name, getattr(module, name)) for module, name, _ in STEPS]
    saved.append((db, "refresh_derived", db.refresh_derived))
    for module, name, label in STEPS:
        setattr(module, name, _timed(getattr(module, name), label, seconds))
    db.refresh_derived = _refresh_timed(seconds)
    try:
        yield seconds
    finally:
        for module, name, function in saved:
            setattr(module, name, function)


def _timed(function, label: str, seconds: dict[str, float]):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            result = function(*args, **kwargs)
        finally:
            seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - started
        if function.__name__ == "protect_activity_cubes":  # its own split, from its summary
            seconds["  dont protection"] = result[2].protection_seconds
            seconds["  dont audit"] = result[2].audit_seconds
        return result

    return wrapper


def _refresh_timed(seconds: dict[str, float]):
    """`db.refresh_derived`'s steps, each derived SQL file timed (keep in step with it)."""

    def refresh(con, scope=incremental.FULL):
        db.apply_schema(con)
        db._refresh_scope(con, scope)  # noqa: SLF001
        for sql_file in sorted((SCHEMA_DIR / "derived").glob("*.sql")):
            started = time.perf_counter()
            con.execute(sql_file.read_text(encoding="utf-8"))
            seconds[sql_file.name] = time.perf_counter() - started
        incremental.stamp(con)

    return refresh


def scratch_copy(source: Path, folder: Path) -> Path:
    """The current release of `source` as single files in `folder`."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    live = release.current(source)
    target = folder / source.name
    shutil.copyfile(live.raw, target)
    shutil.copyfile(live.public, public.public_path(target))
    return target


def member_quarter(target: Path, folder: Path, more: int) -> tuple[Path, str, str]:
    """The first quarterly member's last quarter, `more` persons added per row, as a CSV."""
    con = db.open_reader(target)
    try:
        member, period = con.execute(
            """select s.member_code, max(s.period_code) from submissions s
               join periods p on p.code = s.period_code where p.granularity = 'trimestre'
               group by s.member_code order by s.member_code limit 1"""
        ).fetchall()[0]
        frame = con.sql(
            f"""select member_code as membre, period_code as periode, theme,
                       coalesce(cast(ofs_number as varchar), case lieu when 'hors_canton'
                           then 'hors canton' else 'non renseignée' end) as commune, {COUNTS}
                from activity where member_code = $m and period_code = $p""",  # noqa: S608
            params={"m": member, "p": period},
        ).pl()
    finally:
        con.close()
    path = folder / f"{member}-{period}-{more}.csv"
    frame.with_columns(pl.col("personnes") + more).write_csv(path, separator=";")
    return path, member, period


def references(target: Path, period: str) -> dict[str, float]:
    """The physical floor: copy the raw file; read the touched year's slices; scan the activity."""
    raw = release.current(target).raw
    scratch = raw.with_name(".copie-de-reference.duckdb")
    started = time.perf_counter()
    shutil.copyfile(raw, scratch)
    copy_s = time.perf_counter() - started
    scratch.unlink()
    con = duckdb.connect(str(raw), read_only=True)
    try:
        year = period[:4]
        started = time.perf_counter()
        con.execute(
            f"select sum(personnes), count(*) from activity where period_code like '{year}%'"
        ).fetchall()
        year_s = time.perf_counter() - started
        started = time.perf_counter()
        con.execute("select sum(personnes), count(distinct period_code) from activity").fetchall()
        scan_s = time.perf_counter() - started
    finally:
        con.close()
    return {"copie du fichier brut (shutil)": copy_s, f"lecture des envois de {year}": year_s,
            "parcours de toute l'activité": scan_s}  # fmt: skip


def one_load(target: Path, csv: Path, full: bool) -> tuple[float, float, dict[str, float]]:
    """(seconds, CPU seconds, steps) of `load_files` on `csv`."""
    if full:
        os.environ[incremental.FORCE_FULL_ENV] = "1"
    try:
        with step_clock() as steps:
            started, cpu = time.perf_counter(), time.process_time()
            results = load.load_files([csv], target, user="bench")
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        os.environ.pop(incremental.FORCE_FULL_ENV, None)
    assert all(r.ok for r in results), [r.issues[:2] for r in results]
    return wall, cpu, steps


def measure(source: Path, folder: Path, rounds: int) -> dict:
    target = scratch_copy(source, folder)
    runs: dict[str, list] = {"incrémental": [], "complet": []}
    loads = []
    for _ in range(rounds):
        # The full rebuild first: the release it leaves is one this code derived, so that the next
        # load can keep the years it does not touch.
        for kind in ("complet", "incrémental"):
            csv, member, period = member_quarter(target, folder, len(loads) + 1)
            loads.append(os.getloadavg()[0])
            runs[kind].append(one_load(target, csv, full=kind == "complet"))
    return {"runs": runs, "member": member, "period": period, "loads": loads,
            "references": references(target, period)}  # fmt: skip


def report(scale: float, result: dict) -> str:
    lines = [f"### {scale:g}× — {result['member']} {result['period']} (remplacement)", ""]
    medians = {}
    for kind, runs in result["runs"].items():
        walls = [wall for wall, _, _ in runs]
        medians[kind] = statistics.median(walls)
        cpu = statistics.median(c for _, c, _ in runs)
        lines.append(f"- {kind} : médiane {medians[kind]:.2f} s (CPU {cpu:.2f} s), "
                     f"essais {', '.join(f'{w:.2f}' for w in walls)} s")  # fmt: skip
    lines += ["", "| étape | incrémental (s) | complet (s) |", "|---|---:|---:|"]
    first = result["runs"]["incrémental"][-1][2]
    other = result["runs"]["complet"][-1][2]
    for step in dict.fromkeys([*first, *other]):
        lines.append(f"| {step} | {first.get(step, 0):.3f} | {other.get(step, 0):.3f} |")
    rest = [
        wall - sum(v for k, v in steps.items() if not k.startswith(" "))
        for wall, _, steps in (result["runs"]["incrémental"][-1], result["runs"]["complet"][-1])
    ]
    lines.append(
        f"| non attribué (lecture des fichiers, ouverture…) | {rest[0]:.3f} | {rest[1]:.3f} |"
    )
    lines += ["", "Références physiques :", ""]
    lines += [f"- {name} : {s:.3f} s" for name, s in result["references"].items()]
    average = ", ".join(f"{x:.1f}" for x in result["loads"])
    lines += ["", f"Charge de la machine (load average 1 min) avant chaque essai : {average}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_small_load")
    parser.add_argument("--echelle", type=float, default=30.0, help="échelle de la démo (30)")
    parser.add_argument(
        "--source", type=Path, help="base déjà construite (sinon le cache du bench)"
    )
    parser.add_argument("--fois", type=int, default=2, help="essais de chaque sorte (2)")
    args = parser.parse_args(argv)
    source = args.source or demo_database(args.echelle).raw
    folder = OUT_DIR / "small-load" / f"x{args.echelle:g}"
    print(f"Machine : {machine.machine_details()}")
    result = measure(source, folder, args.fois)
    print(report(args.echelle, result))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
