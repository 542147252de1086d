"""Build the demo database through the front door: members' files written, then loaded by the ETL.

run: create the database (reference data) → register the fictional members → write their
submission files → load them with `etl.submission.load.load_files(..., is_demo=True)`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from etl import db, parallel, release
from etl.build import init_database
from etl.demo.activity import DemoContext
from etl.demo.member_files import member_files
from etl.demo.members import Member, members_at_scale, members_frame, read_members
from etl.demo.sheets import theme_labels
from etl.demo.territory import read_territory
from etl.errors import UserError
from etl.paths import DATA_DIR
from etl.publish import TEMP_PREFIX, next_version, writer_lock
from etl.steps.load_reference import FIRST_PERIOD_YEAR
from etl.submission.load import load_files
from etl.submission.members import register

DEFAULT_OUT_DIR = DATA_DIR / "demo" / "files"
MEMBERS_FILE_NAME = "membres_demo.csv"
Progress = Callable[[str], None]
MIN_MEMBERS_PER_WORKER = 10  # a worker's start costs about half a second; a member's files a tenth


@dataclass
class DemoSummary:
    files_written: int
    files_loaded: int
    rows: dict[str, int]  # table -> rows in the database
    seconds: float
    members: int = 0
    out_dir: Path | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    messy_files: int = 0


def check_years(years: tuple[int, int], today: dt.date | None = None) -> tuple[int, int]:
    today = today or dt.date.today()
    first, last = years
    if not FIRST_PERIOD_YEAR <= first <= last <= today.year:
        raise UserError(
            f"Années {first}–{last} invalides : attendu deux années croissantes entre "
            f"{FIRST_PERIOD_YEAR} et {today.year}, par exemple 2015-2025."
        )
    return first, last


# Longer than 60 lines: the demo's steps in order (database, members, files, load,
# summary), each a call; its signature alone is ten lines.
def build_demo(
    db_path: Path,
    *,
    seed: int = 42,
    years: tuple[int, int] = (2015, 2025),
    scale: float = 1.0,
    out_dir: Path | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Create `db_path` holding only demo data; raise UserError if any demo file is rejected.

    The database is built beside `db_path` and swapped in only when every file is loaded: a failure
    leaves the previous database (and its public file) as it was.
    """
    started = time.perf_counter()
    progress = progress or (lambda _: None)
    today = dt.date.today()
    first, last = check_years(years, today)
    members = members_at_scale(read_members(), scale)
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_OUT_DIR
    db_path = Path(db_path)
    staging = db_path.parent / f"{TEMP_PREFIX}demo-{db_path.name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    staged = staging / db_path.name
    steps: dict[str, float] = {}

    def timed(name: str, work: Callable[[], object]) -> object:
        begin = time.perf_counter()
        result = work()
        steps[name] = round(time.perf_counter() - begin, 2)
        return result

    try:
        timed("base", lambda: init_database(staged, progress))
        progress("membres de démonstration")
        timed("membres", lambda: register_members(staged, members, out_dir))
        context = DemoContext.build(read_territory(staged), first, last, seed)
        paths = timed("fichiers", lambda: write_files(members, context, out_dir, today, progress))
        results = timed(
            "chargement",
            lambda: load_files(
                paths,
                staged,
                is_demo=True,
                progress=_load_progress(progress, len(paths)),
                full=True,
            ),
        )
        rejected = [result for result in results if not result.ok]
        if rejected:
            raise UserError(rejection_message(rejected))
        rows = count_rows(staged)
        swap_in(staged, db_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return DemoSummary(
        files_written=len(paths),
        files_loaded=sum(1 for result in results if result.ok),
        rows=rows,
        seconds=round(time.perf_counter() - started, 2),
        members=len(members),
        out_dir=out_dir,
        step_seconds=steps,
        messy_files=sum(1 for path in paths if _is_messy(path, members)),
    )


def swap_in(staged: Path, db_path: Path) -> None:
    """Make the staged database's current release (raw file, public file, added files) the current
    release of `db_path`, in one switch of its pointer (etl/release.py)."""
    built = release.current(staged)
    if built.directory is None:
        raise UserError(f"La base de démonstration préparée ({staged}) n'a pas été publiée.")
    with writer_lock(db_path):
        release.switch(db_path, built.directory, built.id)


def register_members(db_path: Path, members: list[Member], out_dir: Path) -> Path:
    """The registry of the members generated at this scale, written beside the files, registered."""
    out_dir.mkdir(parents=True, exist_ok=True)
    registry = out_dir / MEMBERS_FILE_NAME
    members_frame(members).write_csv(registry)
    with next_version(db_path) as con:
        register(con, registry, is_demo=True)
    return registry


def write_files(
    members: list[Member], context: DemoContext, out_dir: Path, today: dt.date, progress: Progress
) -> list[Path]:
    """Every member's files, members written side by side on every core (each member draws from
    its own random stream, so the files are the same whatever the order)."""
    remove_previous_files(out_dir)
    shared = (context, out_dir, today, theme_labels())
    paths = []
    written = parallel.ordered_map(
        member_files, members, shared, min_items_per_worker=MIN_MEMBERS_PER_WORKER
    )
    for number, member_paths in enumerate(written, start=1):
        progress(f"fichiers du membre {number}/{len(members)}")
        paths += member_paths
    return sorted(paths, key=lambda path: (path.parent.name, path.name))


def remove_previous_files(out_dir: Path) -> None:
    """Delete the files of a previous demo run (only ours: DEMO-* in the year folders)."""
    for path in out_dir.glob("[0-9][0-9][0-9][0-9]/DEMO-*"):
        path.unlink()


def _load_progress(progress: Progress, total: int) -> Progress:
    seen: set[str] = set()

    def report(message: str) -> None:
        name = message.split(" : ")[0]
        if name not in seen:
            seen.add(name)
            progress(f"chargement {len(seen)}/{total}")
        if message.startswith("agrégats"):
            progress(message)

    return report


def rejection_message(rejected: list) -> str:
    lines = []
    for result in rejected[:5]:
        first = result.issues[0] if result.issues else None
        detail = (
            f"{first.sheet}, ligne {first.row}, {first.column} : {first.message}" if first else ""
        )
        lines.append(f"  - {result.file_name} ({result.status}) {detail}")
    more = f"\n  … et {len(rejected) - 5} autres" if len(rejected) > 5 else ""
    return (
        f"{len(rejected)} fichier(s) de démonstration refusé(s) par le chargement — c'est une "
        "erreur du générateur de démonstration :\n" + "\n".join(lines) + more
    )


def count_rows(db_path: Path) -> dict[str, int]:
    con = db.open_reader(db_path)
    try:
        return {
            table: con.sql(f"select count(*) from {table}").fetchall()[0][0]  # noqa: S608
            for table in ("members", "activity", "services", "observations", "submissions")
        }
    finally:
        con.close()


def _is_messy(path: Path, members: list[Member]) -> bool:
    code = path.name.split("_")[0]
    return any(member.code == code and member.mess for member in members)
