"""The named queries (`queries/<name>.sql`): the one runner of the dashboard, the exports and the CLI.

A query is called by its file name and keyword parameters, `run(name, **params)`. The name must be
the name of a file in queries/ (an allow-list: nothing else is ever read), and the parameters must
be exactly the `$name`s the SQL binds, so a typo or a missing filter fails at once instead of
running another question. Values are always bound, never formatted into the SQL.

Who holds the connection differs: dashboard/data.py (cached read-only connections on the public or
raw file), `etl.exports.public_runner` (command line, bulletin, tests) and
`etl.analysis.public_sql.tables_runner` (tables still in memory during a publish). All of them check
the query with `checked_sql` and bind with `bound_parameters`. No Streamlit here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

import duckdb
import polars as pl

from etl import db
from etl.paths import QUERIES_DIR

QUERY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PARAMETER = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)")

Runner = Callable[..., pl.DataFrame]  # run(query_name, **params) -> frame


class QueryError(Exception):
    """A programming error: unknown query or wrong parameters (never caused by a visitor)."""


@functools.cache
def query_names() -> frozenset[str]:
    """Every query there is: the files of queries/ (read once per process)."""
    return frozenset(path.stem for path in QUERIES_DIR.glob("*.sql"))


@functools.cache
def query_text(name: str) -> str:
    """The SQL of `queries/<name>.sql` (read once per process); QueryError for any other name."""
    if not isinstance(name, str) or not QUERY_NAME.match(name):
        raise QueryError(f"Nom de requête invalide : {name!r}")
    if name not in query_names():
        raise QueryError(f"Requête inconnue : {QUERIES_DIR / name}.sql")
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _without_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


@functools.cache
def query_parameters(name: str) -> frozenset[str]:
    """The named parameters ($name) a query binds."""
    return frozenset(PARAMETER.findall(_without_comments(query_text(name))))


def check_parameters(name: str, params: Mapping[str, object]) -> None:
    """QueryError unless `params` names exactly the parameters the query binds."""
    expected = query_parameters(name)
    missing, unknown = expected - params.keys(), params.keys() - expected
    if missing or unknown:
        raise QueryError(
            f"Requête {name} : paramètres manquants {sorted(missing)}, inconnus {sorted(unknown)}"
        )


def checked_sql(name: str, params: Mapping[str, object]) -> str:
    """The SQL of an allow-listed query whose parameters are exactly `params`."""
    check_parameters(name, params)
    return query_text(name)


def bindable(value: object) -> object:
    """A value DuckDB binds: tuples and sets become lists (a list binds as an SQL list)."""
    return list(value) if isinstance(value, tuple | frozenset | set) else value


def bound_parameters(params: Mapping[str, object]) -> dict[str, object]:
    return {key: bindable(value) for key, value in params.items()}


def run_query(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, object]
) -> pl.DataFrame:
    """Run the named query on `con` (a connection whose database `obs` is the file to read)."""
    return db.query(con, checked_sql(name, params), bound_parameters(params))


def runner(con: duckdb.DuckDBPyConnection) -> Runner:
    """A `run(query_name, **params)` on `con`."""
    return lambda name, **params: run_query(con, name, params)
