"""Latency of every query the pages run: through the data layer and directly in DuckDB.

For each distinct (query, parameters) recorded while the pages rendered (bench_pages):
- `direct`: the same SQL file, the same bound parameters, on a plain read-only DuckDB connection to
  the same file, fetched into a Polars frame — the floor;
- `cold`: `dashboard.data.run` with Streamlit's data cache cleared before each call (the first
  visitor to ask this question since the data changed);
- `warm`: `dashboard.data.run` with the answer cached (every later visitor, every rerun);
- `scan`: the physical reference of `direct`, a plain scan of the columns the query reads (every
  table scan of DuckDB's plan, its projected and filtered columns, read in full with `min()`, no
  filter, no join, no grouping): how far the query is from the cost of reading its data. A query
  whose filters skip row groups (zone maps) can be faster than this "floor".
Public queries read the public file, the Administration page's queries the raw file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bench.timing import Timing, measure_interleaved


@dataclass(frozen=True)
class QueryCase:
    name: str
    params: tuple  # sorted (key, value) pairs, lists as tuples
    admin: bool
    pages: tuple[str, ...]  # the visits that run it

    @property
    def params_text(self) -> str:
        def short(value: object) -> str:
            text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
            return text if len(text) <= 24 else text[:21] + "…"

        return " ".join(f"{key}={short(value)}" for key, value in self.params)

    def kwargs(self) -> dict:
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in self.params
        }


@dataclass(frozen=True)
class QueryResult:
    case: QueryCase
    rows: int
    direct: Timing
    cold: Timing
    warm: Timing
    scan: Timing | None = None  # the plain scan of the columns it reads (None: no table scanned)
    scanned: str = ""  # which tables and how many of their columns

    @property
    def ratio(self) -> float:
        """Data layer (cold) over direct DuckDB, medians."""
        return self.cold.p50 / self.direct.p50

    @property
    def over_scan(self) -> float:
        """Direct DuckDB over the plain scan of its columns, medians (how far from its floor)."""
        return self.direct.p50 / self.scan.p50 if self.scan and self.scan.p50 else float("nan")


def _frozen(params: dict) -> tuple:
    return tuple(
        sorted((k, tuple(v) if isinstance(v, list | tuple | set) else v) for k, v in params.items())
    )


def distinct_cases(page_results) -> list[QueryCase]:
    """The distinct (query, parameters) pairs of every visit, in first-seen order."""
    pages: dict[tuple, list[str]] = {}
    for result in page_results:
        calls = [(False, call) for call in result.queries]
        calls += [(True, call) for call in result.admin_queries]
        for admin, (name, params) in calls:
            key = (admin, name, _frozen(params))
            labels = pages.setdefault(key, [])
            if result.visit.label not in labels:
                labels.append(result.visit.label)
    return [
        QueryCase(name=name, params=params, admin=admin, pages=tuple(labels))
        for (admin, name, params), labels in pages.items()
    ]


def _table_scans(plan: list | dict) -> list[dict]:
    nodes = plan if isinstance(plan, list) else [plan]
    found = []
    for node in nodes:
        if "Table" in node.get("extra_info", {}):
            found.append(node["extra_info"])
        found += _table_scans(node.get("children", []))
    return found


def _quoted(name: str) -> str:
    """A name of DuckDB's plan (`db.schema."release"`: reserved words come quoted) quoted part by
    part."""
    parts = [
        quoted.replace('""', '"') if quoted else plain
        for quoted, plain in re.findall(r'"((?:[^"]|"")*)"|([^."]+)', name)
    ]
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


@dataclass(frozen=True)
class ColumnScan:
    """A whole table's columns read, nothing else done: `min()` of each."""

    table: str  # as DuckDB's plan names it (database.schema.table)
    columns: tuple[str, ...]

    @property
    def sql(self) -> str:
        reads = ", ".join(f"min({_quoted(column)})" for column in self.columns) or "count(*)"
        return f"select {reads} from {_quoted(self.table)}"

    @property
    def text(self) -> str:
        return f"{self.table.rsplit('.', 1)[-1].strip(chr(34))} ({len(self.columns)} col.)"


def column_scans(con: duckdb.DuckDBPyConnection, sql: str, bound: dict) -> list[ColumnScan]:
    """One plain scan per table the query's plan reads: every column it projects or filters on,
    whole table (see the module docstring)."""
    plan = json.loads(con.sql("explain (format json) " + sql, params=bound).fetchall()[0][1])
    columns: dict[str, set[str]] = {}
    for scan in _table_scans(plan):
        table = scan["Table"]
        known = {row[0] for row in con.sql(f"describe {_quoted(table)}").fetchall()}
        used = set(scan.get("Projections") or [])
        for condition in scan.get("Filters") or []:
            used |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(condition)))
        columns.setdefault(table, set()).update(used & known)
    return [ColumnScan(table, tuple(sorted(used))) for table, used in columns.items()]


def _direct_connection(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def measure_cases(
    cases: list[QueryCase], raw: Path, public: Path, repeat: int
) -> list[QueryResult]:
    """Time each case three ways (see module docstring); $OBSERVATOIRE_DB must name `raw`."""
    import streamlit as st

    from dashboard import data
    from etl import queries

    connections = {False: _direct_connection(public), True: _direct_connection(raw)}
    results = []
    try:
        for case in cases:
            con = connections[case.admin]
            sql = queries.query_text(case.name)
            bound = queries.bound_parameters(dict(case.params))
            run = data.run_admin if case.admin else data.run
            kwargs = case.kwargs()

            def direct(con=con, sql=sql, bound=bound):
                return con.sql(sql, params=bound).pl()

            def layer(run=run, name=case.name, kwargs=kwargs):
                return run(name, **kwargs)

            scans = column_scans(con, sql, bound)

            def scan(con=con, scans=scans):
                for table_scan in scans:
                    con.sql(table_scan.sql).fetchall()

            rows = direct().height
            works = {"direct": direct, "cold": layer, "warm": layer}
            timings = measure_interleaved(
                works | ({"scan": scan} if scans else {}),
                repeat,
                before={"cold": st.cache_data.clear},
            )
            scanned = ", ".join(table_scan.text for table_scan in scans)
            results.append(QueryResult(case, rows, **timings, scanned=scanned))
    finally:
        for con in connections.values():
            con.close()
        st.cache_data.clear()
    return results
