"""Helpers of the reliability tests (bad inputs, fuzzing, hostile URLs, concurrent use).

A pytest plugin (`pytest_plugins = ["test_reliability_support"]`; it holds no test): the
`published_db` fixture, the bad-inputs corpus module, and snapshots of a database's tables to prove
what a load changed.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from etl import db as etl_db
from etl import public
from etl.publish import next_version

CORPUS_DIR = Path(__file__).resolve().parent / "data" / "bad_inputs"
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"

pytest_plugins = ["test_submission_support"]


def corpus_module() -> ModuleType:
    """tests/data/bad_inputs/make_corpus.py (a data folder, not a package)."""
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS_DIR / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def publish_copy(source: Path, target: Path) -> Path:
    """A copy of the raw database `source` with its own, freshly built public file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    with next_version(target) as con:
        etl_db.refresh_derived(con)
        public.publish_public(con, target)
    return target


@pytest.fixture(scope="session")
def published_base(base_db, tmp_path_factory) -> Path:
    """The submission tests' base database (three test members), with its public file."""
    return publish_copy(base_db, tmp_path_factory.mktemp("published") / "obs.duckdb")


@pytest.fixture
def published_db(published_base, tmp_path) -> Path:
    """A private copy of `published_base` (raw and public files) that a test may load into."""
    target = tmp_path / "db" / "obs.duckdb"
    target.parent.mkdir()
    shutil.copyfile(published_base, target)
    shutil.copyfile(public.public_path(published_base), public.public_path(target))
    return target


def raw_tables(db_path: Path) -> dict[str, list[tuple]]:
    """Every base table of the raw database, rows sorted."""
    con = etl_db.open_reader(db_path)
    try:
        names = con.execute(
            """select table_name from information_schema.tables
               where table_catalog = 'obs' and table_schema = 'main' and table_type = 'BASE TABLE'
               order by table_name"""
        ).fetchall()
        return {
            name: con.execute(f'select * from main."{name}" order by all').fetchall()
            for (name,) in names
        }
    finally:
        con.close()


def public_tables(db_path: Path) -> dict[str, list[tuple]]:
    """Every table of the public file, rows sorted; `release` without its publication time and
    release id (both change at every publish)."""
    con = public.open_public_reader(public.public_path(db_path))
    try:
        names = con.execute(
            """select table_name from information_schema.tables
               where table_catalog = 'obs' and table_schema = 'public' order by table_name"""
        ).fetchall()
        tables = {}
        for (name,) in names:
            columns = "* exclude (published_at, release_id)" if name == "release" else "*"
            tables[name] = con.execute(
                f'select {columns} from public."{name}" order by all'
            ).fetchall()
        return tables
    finally:
        con.close()


def data_tables(db_path: Path) -> dict[str, list[tuple]]:
    """What a rejected file must leave unchanged: every raw table but load_runs, every public
    table (the release's version names the publication day, so only its content hash is kept)."""
    raw = raw_tables(db_path)
    raw.pop("load_runs")
    raw.pop("release_info", None)  # the id of the release: new at every publish
    published = public_tables(db_path)
    published["release"] = [
        (version.rsplit("-", 1)[-1], *rest) for version, *rest in published["release"]
    ]
    return {
        **{f"raw.{k}": v for k, v in raw.items()},
        **{f"public.{k}": v for k, v in published.items()},
    }


def load_runs(db_path: Path) -> list[tuple]:
    con = etl_db.open_reader(db_path)
    try:
        return con.execute(
            "select run_id, kind, file_name, status, username from load_runs order by run_id"
        ).fetchall()
    finally:
        con.close()


def table_fingerprints(
    db_path: Path, *, skip: tuple[str, ...] = ("load_runs", "release_info")
) -> dict:
    """Row count and an order-free hash of every raw table (cheaper than `data_tables`), and the
    public file's tables but `release`."""
    prints = {}
    for path, opener, schema in (
        (db_path, etl_db.open_reader, "main"),
        (public.public_path(db_path), public.open_public_reader, "public"),
    ):
        con = opener(path)
        try:
            names = con.execute(
                """select table_name from information_schema.tables
                   where table_catalog = 'obs' and table_schema = ? and table_type = 'BASE TABLE'""",
                [schema],
            ).fetchall()
            for (name,) in names:
                if name in (*skip, "release"):
                    continue
                prints[f"{schema}.{name}"] = con.execute(
                    f'select count(*), sum(hash(t)::hugeint), bit_xor(hash(t)) from {schema}."{name}" t'
                ).fetchall()[0]
        finally:
            con.close()
    return prints
