"""Small loads rebuild only the years they touch (etl/incremental.py, issue #19): the result must be
the full rebuild's, table for table and row for row.

On a private copy of the demo database (published in full by this code first), the same steps run
twice: once as every load runs (incremental), once with a full rebuild forced
(OBSERVATOIRE_RECONSTRUCTION_COMPLETE=1): a new quarter of a new year, a replacement of a slice of an
existing year, a removal. After each step every table of the raw file and of the public file is
compared, sorted, exactly (floats to the last bit: both paths run the same code on the same inputs,
so any difference is a bug, not rounding). Only the columns that record when something ran differ.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from admin_support import rows
from polars.testing import assert_frame_equal

from etl import db as etl_db
from etl import incremental, public, release
from etl.publish import next_version
from etl.submission.load import load_files
from etl.submission.remove import remove_slices

# Columns that hold the clock time of a load or a publish (or the id of the release, made of it):
# they differ between any two runs. Every datetime column of both files must be one of them.
CLOCK_COLUMNS = {
    "loaded_at",
    "last_loaded_at",
    "last_load_at",
    "started_at",
    "finished_at",
    "built_at",
    "published_at",
    "release_id",
    "version",
}
COUNTS = [
    "personnes", "prestations", "nouvelles_personnes", "femmes", "hommes", "mineurs",
    "seniors_65", "demandes_non_satisfaites", "liste_attente",
]  # fmt: skip


@pytest.fixture(scope="module")
def base(demo_db, tmp_path_factory) -> Path:
    """The demo database, published in full by the code under test (a prebuilt one may be older)."""
    folder = tmp_path_factory.mktemp("incremental-base")
    path = folder / "observatoire.duckdb"
    with next_version(path, source=release.current(demo_db).raw) as con:
        etl_db.refresh_derived(con)
        public.publish_public(con, path)
    return path


def copy_of(base: Path, folder: Path) -> Path:
    """A private copy (raw and public files of the current release, as single files)."""
    folder.mkdir(parents=True)
    live = release.current(base)
    target = folder / "observatoire.duckdb"
    shutil.copyfile(live.raw, target)
    shutil.copyfile(live.public, public.public_path(target))
    return target


def quarterly_member(db_path: Path, year: int) -> str:
    found = rows(
        db_path,
        "select member_code from agg_member_year where granularity = 'trimestre' and year = ? "
        "order by member_code limit 1",
        [year],
    )
    return found[0][0]


def member_file(db_path: Path, folder: Path, member: str, source: str, period: str, more: int):
    """`member`'s rows of `source` as a file for `period`, `more` persons added to each row."""
    frame = pl.DataFrame(
        rows(
            db_path,
            f"""select theme, coalesce(cast(ofs_number as varchar), case lieu
                       when 'hors_canton' then 'hors canton' else 'non renseignée' end) as commune,
                   {", ".join(COUNTS)}
                from activity where member_code = ? and period_code = ?
                order by theme, lieu""",  # noqa: S608 (COUNTS: a constant list)
            [member, source],
        ),
        schema=["theme", "commune", *COUNTS],
        orient="row",
    ).with_columns(pl.col("personnes") + more)
    assert frame.height > 0
    path = folder / f"{member}-{period}.csv"
    frame.select(
        pl.lit(member).alias("membre"), pl.lit(period).alias("periode"), pl.all()
    ).write_csv(path, separator=";")
    return path


def load(db_path: Path, files: list[Path]) -> list[str]:
    lines: list[str] = []
    results = load_files(files, db_path, user="test", progress=lines.append)
    assert all(r.ok for r in results), [r.issues[:2] for r in results]
    return lines


def all_tables(file: Path, schema: str) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{file}' as f (read_only)")
        names = con.execute(
            "select table_name from information_schema.tables where table_catalog = 'f' "
            "and table_schema = ? and table_type = 'BASE TABLE' order by table_name",
            [schema],
        ).fetchall()
        return {name: con.sql(f'select * from f.{schema}."{name}"').pl() for (name,) in names}
    finally:
        con.close()


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    clock = [c for c in frame.columns if c in CLOCK_COLUMNS]
    unexplained = [c for c, t in frame.schema.items() if t == pl.Datetime and c not in clock]
    assert not unexplained, f"a time column to review: {unexplained}"
    frame = frame.drop(clock)
    keys = [c for c, t in frame.schema.items() if not t.is_nested() and t != pl.Object]
    return frame.sort(keys, nulls_last=True) if keys else frame


def assert_same_files(incremental_db: Path, full_db: Path, skip: tuple[str, ...] = ()) -> None:
    """Every table of the raw file and of the public file (but `skip`), equal row for row."""
    mine, theirs = release.current(incremental_db), release.current(full_db)
    for file_of, schema in ((lambda r: r.raw, "main"), (lambda r: r.public, "public")):
        left, right = all_tables(file_of(mine), schema), all_tables(file_of(theirs), schema)
        assert left.keys() == right.keys()
        for name in sorted(set(left) - set(skip)):
            try:
                assert_frame_equal(
                    comparable(left[name]), comparable(right[name]), check_exact=True
                )
            except AssertionError as error:
                raise AssertionError(f"{schema}.{name} differs: {error}") from None


def both_ways(monkeypatch, incremental_db: Path, full_db: Path, step) -> incremental.Scope:
    """Run `step(db_path)` on both copies, the second with a full rebuild forced; the scope the
    first one used, after checking that it protected and analysed only its years (no silent
    fall-back to every year)."""
    scopes: list[incremental.Scope] = []
    protected: list[object] = []  # the `years` each protection was asked for
    analysed: list[set[int]] = []  # the years of the cube each gap analysis was given
    real_scope, real_protect = incremental.slices_scope, public.protect_activity_cubes
    real_gaps = public.gap_analysis_tables

    def spied_scope(*args, **kwargs):
        scopes.append(real_scope(*args, **kwargs))
        return scopes[-1]

    def spied_protect(year_cube, quarter_cube, tables=None, years=None):
        protected.append(years)
        return real_protect(year_cube, quarter_cube, tables, years)

    def spied_gaps(tables):
        analysed.append(set(tables[public.YEAR_CUBE]["year"].to_list()))
        return real_gaps(tables)

    monkeypatch.setattr(incremental, "slices_scope", spied_scope)
    monkeypatch.setattr(public, "protect_activity_cubes", spied_protect)
    monkeypatch.setattr(public, "gap_analysis_tables", spied_gaps)
    step(incremental_db)
    assert protected == [scopes[0].years]
    assert len(analysed) == 1 and analysed[0] <= scopes[0].years
    monkeypatch.setenv(incremental.FORCE_FULL_ENV, "1")
    step(full_db)
    monkeypatch.delenv(incremental.FORCE_FULL_ENV)
    assert scopes[-1].full and "demandée" in scopes[-1].reason
    assert protected[-1] is None and len(analysed[-1]) > 3
    return scopes[0]


@pytest.mark.timeout(900)
def test_small_loads_give_the_full_rebuilds_tables(base, tmp_path, monkeypatch):
    mine, full = copy_of(base, tmp_path / "incremental"), copy_of(base, tmp_path / "full")
    files = tmp_path / "files"
    files.mkdir()
    member = quarterly_member(mine, 2023)
    years = rows(mine, "select distinct year from agg_activity_year_cube order by year")
    assert 2025 not in [y for (y,) in years] and 2023 in [y for (y,) in years]

    # A new quarter, in a year the database does not have yet.
    new_quarter = member_file(mine, files, member, "2024-T1", "2025-T1", 0)
    scope = both_ways(monkeypatch, mine, full, lambda path: load(path, [new_quarter]))
    assert scope.years == {2025} and scope.members == {member}
    assert_same_files(mine, full)

    # The replacement of a quarter already loaded, in an existing year.
    replaced = member_file(mine, files, member, "2023-T2", "2023-T2", 3)
    scope = both_ways(monkeypatch, mine, full, lambda path: load(path, [replaced]))
    assert scope.years == {2023}
    assert_same_files(mine, full)

    # A removal (observatoire retirer).
    def remove(path: Path) -> None:
        remove_slices(path, member, ["2022-T3"], reason="test", user="test")

    scope = both_ways(monkeypatch, mine, full, remove)
    assert scope.years == {2022}
    assert_same_files(mine, full)
    # The incremental copy did change: the removed quarter is gone from the public file.
    assert not rows(
        mine, "select 1 from public.submissions where member_code = ? and period_code = '2022-T3'",
        [member],
    )  # fmt: skip


def _without_public_file(db_path: Path) -> None:
    public.public_path(db_path).unlink()


def _derived_by_other_code(db_path: Path) -> None:
    con = duckdb.connect(str(db_path))
    try:
        con.execute("update main.derived_info set code_version = 'version précédente'")
    finally:
        con.close()


def _public_file_of_another_release(db_path: Path) -> None:
    con = duckdb.connect(str(public.public_path(db_path)))
    try:
        con.execute("update public.release set release_id = '20200101T000000000000-abcd'")
    finally:
        con.close()


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_without_public_file, "pas de fichier public précédent"),
        (_derived_by_other_code, "autre version du code"),
        (_public_file_of_another_release, "fichier public précédent d'une autre version"),
    ],
)
def test_a_load_rebuilds_everything_where_the_kept_rows_are_not_proven(
    base, tmp_path, spoil, reason
):
    db_path = copy_of(base, tmp_path / "db")
    spoil(db_path)
    member = quarterly_member(db_path, 2023)
    files = tmp_path / "files"
    files.mkdir()
    first = member_file(db_path, files, member, "2023-T2", "2023-T2", 1)
    lines = load(db_path, [first])
    assert any("agrégats" in line and reason in line for line in lines), lines
    # The full rebuild leaves a release the next load can trust: that one is incremental.
    second = member_file(db_path, files, member, "2023-T2", "2023-T2", 1)
    lines = load(db_path, [second])
    assert any("années recalculées : 2023" in line for line in lines), lines


def test_a_file_already_loaded_rebuilds_no_year_and_changes_nothing(base, tmp_path):
    db_path = copy_of(base, tmp_path / "db")
    files = tmp_path / "files"
    files.mkdir()
    member = quarterly_member(db_path, 2023)
    again = member_file(db_path, files, member, "2023-T2", "2023-T2", 0)  # the same rows
    load(db_path, [again])
    before = copy_of(db_path, tmp_path / "before")
    lines = load(db_path, [again])
    assert any("années recalculées : aucune" in line for line in lines), lines
    assert_same_files(db_path, before, skip=("load_runs",))  # one more run: « fichier identique »


def test_a_full_rebuild_can_be_asked_for(base, tmp_path):
    # `observatoire charger --complet` (and `observatoire demo`): every year, whatever the scope.
    db_path = copy_of(base, tmp_path / "db")
    files = tmp_path / "files"
    files.mkdir()
    member = quarterly_member(db_path, 2023)
    lines: list[str] = []
    path = member_file(db_path, files, member, "2023-T2", "2023-T2", 2)
    results = load_files([path], db_path, user="test", progress=lines.append, full=True)
    assert [r.status for r in results] == ["remplace"]
    assert any("agrégats" in line and "reconstruction complète" in line for line in lines), lines
