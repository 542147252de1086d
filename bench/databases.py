"""The demo databases the benchmarks read, at 1×, 10×, 30× (or any) scale, cached under bench/out/.

Each one is built once through the front door, `etl.demo.build_demo` (members' files written, then
loaded by `load_files`), exactly as `observatoire demo --echelle X` does. Generating 30× through
files takes far longer than the rest of the benchmark, so the raw file is cached under
`bench/out/db/demo-<version>/`, where <version> hashes the generator's sources and data and the
base schema: change the generator and the cache is rebuilt. What is derived at publish time
(aggregates, public views, disclosure control, the public file) is rebuilt whenever its code
changes, so a cached database always carries the current aggregates.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from etl import db, public
from etl.paths import DATA_DIR, ROOT, SCHEMA_DIR
from etl.publish import next_version

OUT_DIR = ROOT / "bench" / "out"
DEMO_SEED = 42
# Bump when the way this module builds a database changes (the cache key includes it).
RECIPE = "1"

Progress = Callable[[str], None]


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
    sources = [*(SCHEMA_DIR / "derived").glob("*.sql"), ROOT / "etl" / "public.py"]
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
    def public(self) -> Path:
        return public.public_path(self.raw)

    @property
    def activity_rows(self) -> int:
        return self.rows.get("activity", 0)


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
    cached = raw.exists() and public.public_path(raw).exists() and meta_path.exists()
    if cached:
        meta = json.loads(meta_path.read_text())
    else:
        progress(f"  base de démonstration {scale_label(scale)} absente du cache : construction…")
        files_dir = folder / f"files-x{scale:g}"
        started = time.perf_counter()
        summary = build_demo(
            raw,
            seed=DEMO_SEED,
            years=years,
            scale=scale,
            out_dir=files_dir,
            progress=lambda _: None,
        )
        meta = {
            "scale": scale,
            "built_seconds": round(time.perf_counter() - started, 1),
            "files": summary.files_loaded,
            "rows": summary.rows,
            "derived": derived_version(),
        }
        shutil.rmtree(files_dir, ignore_errors=True)  # the database is what is cached
        meta_path.write_text(json.dumps(meta, indent=2))
        progress(f"  construite en {meta['built_seconds']:.0f} s ({summary.files_loaded} fichiers)")
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


def file_sizes(database: DemoDatabase) -> dict[str, int]:
    """Bytes of the raw and the public file."""
    return {"raw": database.raw.stat().st_size, "public": database.public.stat().st_size}
