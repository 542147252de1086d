"""The dashboard's named queries (queries/*.sql) on public tables still in memory, during a publish.

The feed is written from the tables being published, before they are a file; running the pages'
own SQL on them keeps its numbers the pages' numbers; names and parameters are checked as everywhere
(etl/queries.py). (On the public file itself, use `etl.exports.public_runner`.)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import duckdb
import polars as pl

from etl import db
from etl.public import PUBLIC_SCHEMA
from etl.queries import Runner, bound_parameters, checked_sql

_PUBLIC_TABLE = re.compile(r"\bpublic\.([a-z_][a-z0-9_]*)")


def _copy_tables(con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]) -> None:
    for table, frame in tables.items():
        con.register("public_frame", frame)
        con.execute(f'create table obs.{PUBLIC_SCHEMA}."{table}" as select * from public_frame')
        con.unregister("public_frame")


@contextlib.contextmanager
def tables_runner(tables: dict[str, pl.DataFrame]) -> Iterator[Runner]:
    """A `run(query_name, **params)` on `tables`, laid out like the public file (schema `public`
    of a database `obs`); each query's tables are copied in when it first names them."""
    con = duckdb.connect(":memory:")
    con.execute("attach ':memory:' as obs")
    con.execute(f"create schema obs.{PUBLIC_SCHEMA}")
    copied: set[str] = set()

    def run(name: str, **params: object) -> pl.DataFrame:
        sql = checked_sql(name, params)
        wanted = {t: tables[t] for t in _PUBLIC_TABLE.findall(sql) if t not in copied}
        _copy_tables(con, wanted)
        copied.update(wanted)
        return db.query(con, sql, bound_parameters(params))

    try:
        yield run
    finally:
        con.close()
