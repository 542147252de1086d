"""The demo databases the benchmarks read, at 1×, 10×, 30× (or any) scale, cached under bench/out/.

Up to 1×, a database is built through the front door, `etl.demo.build_demo`, exactly as
`observatoire demo --echelle X` does: every member's files written, then loaded by `load_files`.
Above it, that path costs about a third of a second of loader overhead per file (14,000 files at
30×, and growing with the database), so the same generator output enters in bulk instead, still
through `load_files` and its validation: each year's activity of every member as one CSV, plus each
member's year-end workbook of the last year (its services directory and observations). The activity
rows are the generator's, row for row; services and observations come from the last year only.

Databases are cached under `bench/out/db/demo-<version>-<years>/`, where <version> hashes the
generator's sources and data and the base schema: change the generator and the cache is rebuilt.
What is derived at publish time (aggregates, public views, disclosure control, the public file) is
rebuilt whenever its code changes, so a cached database always carries the current aggregates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl import db, public, release
from etl.paths import DATA_DIR, ROOT, SCHEMA_DIR
from etl.publish import next_version

OUT_DIR = ROOT / "bench" / "out"
DEMO_SEED = 42
# Bump when the way this module builds a database changes (the cache key includes it).
RECIPE = "2"
FRONT_DOOR_UP_TO = 1.0  # scales built file by file like `observatoire demo`; above: in bulk

Progress = Callable[[str], None]
PLACE_AS_WRITTEN = {"hors_canton": "hors canton", "non_renseignee": "non renseignée"}


def _digest(paths: list[Path], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def generator_version() -> str:
    """Changes whenever the demo generator, its data or the base schema change."""
    sources = [
        *(ROOT / "etl" / "demo").glob("*.py"),
        *(ROOT / "etl" / "demo").glob("*.csv"),
        DATA_DIR / "members_demo.csv",
        *SCHEMA_DIR.glob("*.sql"),
    ]
    return _digest([path for path in sources if path.exists()], RECIPE)


def derived_version() -> str:
    """Changes whenever what a publish derives (aggregates, public views, public file) changes."""
    sources = [
        *(SCHEMA_DIR / "derived").glob("*.sql"),
        ROOT / "etl" / "public.py",
        *(ROOT / "etl" / "disclosure").glob("*.py"),
        *(ROOT / "etl" / "analysis").glob("*.py"),  # the signals and their feed
    ]
    return _digest(sources, (ROOT / "etl" / "db.py").read_text())


@dataclass(frozen=True)
class DemoDatabase:
    scale: float
    raw: Path
    built_seconds: float  # build_demo, when it ran (cached: the time it took then)
    files: int  # members' files written and loaded
    rows: dict[str, int]
    cached: bool
    republish_seconds: float | None  # refresh of aggregates + public file, when it was needed

    @property
    def raw_file(self) -> Path:
        """The raw file of the current release (`raw` is the database's name)."""
        return release.current(self.raw).raw

    @property
    def public(self) -> Path:
        """The public file of the current release."""
        return release.current(self.raw).public

    @property
    def activity_rows(self) -> int:
        return self.rows.get("activity", 0)

    @property
    def method(self) -> str:
        return "front door" if self.scale <= FRONT_DOOR_UP_TO else "bulk"


def scale_label(scale: float) -> str:
    return f"{scale:g}×"


def _cache_folder(out_dir: Path, years: tuple[int, int]) -> Path:
    return out_dir / "db" / f"demo-{generator_version()}-{years[0]}-{years[1]}"


def _remove_stale(out_dir: Path, keep: Path) -> None:
    """Delete databases of older generator versions (a 30× database is ~1 GB)."""
    for folder in (out_dir / "db").glob("demo-*"):
        if folder != keep and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def republish(raw: Path) -> float:
    """Rebuild the aggregates and the public file of `raw`, as every load does; seconds taken."""
    started = time.perf_counter()
    with next_version(raw) as con:
        db.refresh_derived(con)
        public.publish_public(con, raw)
    return time.perf_counter() - started


def demo_database(
    scale: float,
    *,
    years: tuple[int, int] = (2015, 2025),
    out_dir: Path = OUT_DIR,
    progress: Progress = print,
) -> DemoDatabase:
    """The demo database at `scale`, from the cache or built now through the demo generator."""
    from etl.demo import build_demo  # imported late: only a cache miss needs the generator

    folder = _cache_folder(out_dir, years)
    _remove_stale(out_dir, keep=folder)
    raw = folder / f"x{scale:g}.duckdb"
    meta_path = raw.with_suffix(".json")
    live = release.current(raw)
    cached = live.raw.exists() and live.public.exists() and meta_path.exists()
    if cached:
        meta = json.loads(meta_path.read_text())
    else:
        progress(f"  base de démonstration {scale_label(scale)} absente du cache : construction…")
        files_dir = folder / f"files-x{scale:g}"
        started = time.perf_counter()
        if scale <= FRONT_DOOR_UP_TO:
            summary = build_demo(
                raw, seed=DEMO_SEED, years=years, scale=scale, out_dir=files_dir,
                progress=lambda _: None,
            )  # fmt: skip
            files, rows = summary.files_loaded, summary.rows
        else:
            files, rows = build_in_bulk(raw, scale, years, files_dir)
        meta = {
            "scale": scale,
            "built_seconds": round(time.perf_counter() - started, 1),
            "files": files,
            "rows": rows,
            "derived": derived_version(),
        }
        shutil.rmtree(files_dir, ignore_errors=True)  # the database is what is cached
        meta_path.write_text(json.dumps(meta, indent=2))
        progress(f"  construite en {meta['built_seconds']:.0f} s ({files} fichiers)")
    republish_seconds = None
    if meta.get("derived") != derived_version():
        progress(f"  agrégats et fichier public {scale_label(scale)} recalculés (code modifié)")
        republish_seconds = round(republish(raw), 1)
        meta["derived"] = derived_version()
        meta_path.write_text(json.dumps(meta, indent=2))
    return DemoDatabase(
        scale=scale,
        raw=raw,
        built_seconds=meta["built_seconds"],
        files=meta["files"],
        rows=meta["rows"],
        cached=cached,
        republish_seconds=republish_seconds,
    )


def _bulk_rows(member, activity: pl.DataFrame) -> pl.DataFrame:
    """A member's activity as CSV rows: codes, OFS numbers, and only the columns it reports."""
    from etl.demo.activity import ACTIVITY_COLUMNS
    from etl.demo.parameters import COLUMN_SETS

    reported = {"personnes", *COLUMN_SETS[member.columns]}
    return activity.select(
        pl.col("member_code").alias("membre"),
        pl.col("period_code").alias("periode"),
        "theme",
        pl.col("lieu").replace(PLACE_AS_WRITTEN).alias("commune"),
        *[
            (pl.col(c) if c in reported else pl.lit(None, pl.Int64)).alias(c)
            for c in ACTIVITY_COLUMNS
        ],
    )


def build_in_bulk(
    raw: Path, scale: float, years: tuple[int, int], files_dir: Path
) -> tuple[int, dict[str, int]]:
    """The generator's members and activity at `scale`, loaded by `load_files` in bulk (see the
    module docstring); (files loaded, rows per table)."""
    from etl.build import init_database
    from etl.demo.activity import DemoContext, member_activity
    from etl.demo.build import count_rows, register_members
    from etl.demo.files import FileWriter, plan_files
    from etl.demo.member_files import started_periods
    from etl.demo.members import members_at_scale, read_members
    from etl.demo.sheets import theme_labels
    from etl.demo.territory import read_territory
    from etl.errors import UserError
    from etl.submission.load import load_files

    today = dt.date.today()
    files_dir.mkdir(parents=True, exist_ok=True)
    init_database(raw)
    members = members_at_scale(read_members(), scale)
    register_members(raw, members, files_dir)
    context = DemoContext.build(read_territory(raw), years[0], years[1], DEMO_SEED)
    labels = theme_labels()
    rows, workbooks = [], []
    for member in members:
        periods = started_periods(member, context, today)
        activity = member_activity(member, context).filter(pl.col("period_code").is_in(periods))
        recent = max(context.first_year, context.last_year - 1)
        year_end = [f for f in plan_files(member, periods, recent_from=recent) if f.full][-1:]
        writer = FileWriter(member, context, activity, files_dir, today, labels)
        workbooks += [writer.write(planned) for planned in year_end]
        in_workbooks = [code for planned in year_end for code in planned.periods]
        rows.append(_bulk_rows(member, activity.filter(~pl.col("period_code").is_in(in_workbooks))))
    everything = pl.concat(rows)
    csvs = []
    for (year,), frame in everything.group_by(
        pl.col("periode").str.slice(0, 4), maintain_order=True
    ):
        path = files_dir / f"activite-{year}.csv"
        frame.write_csv(path, separator=";")
        csvs.append(path)
    # Workbooks first: each file's slice replacement scans the activity table, small at that point.
    results = load_files([*workbooks, *csvs], raw, is_demo=True)
    rejected = [r for r in results if not r.ok]
    if rejected:
        first = rejected[0]
        raise UserError(f"{len(rejected)} fichier(s) refusé(s), dont {first.file_name} : "
                        f"{first.issues[:1]}")  # fmt: skip
    return len(results), count_rows(raw)


def file_sizes(database: DemoDatabase) -> dict[str, int]:
    """Bytes of the raw and the public file."""
    return {"raw": database.raw_file.stat().st_size, "public": database.public.stat().st_size}
