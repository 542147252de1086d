"""Latency of every query the pages run: through the data layer and directly in DuckDB.

For each distinct (query, parameters) recorded while the pages rendered (bench_pages):
- `direct`: the same SQL file, the same bound parameters, on a plain read-only DuckDB connection to
  the same file, fetched into a Polars frame — the floor;
- `cold`: `dashboard.data.run` with Streamlit's data cache cleared before each call (the first
  visitor to ask this question since the data changed);
- `warm`: `dashboard.data.run` with the answer cached (every later visitor, every rerun).
Public queries read the public file, the Administration page's queries the raw file.
"""

from __future__ import annotations

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

    @property
    def ratio(self) -> float:
        """Data layer (cold) over direct DuckDB, medians."""
        return self.cold.p50 / self.direct.p50


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

            rows = direct().height
            timings = measure_interleaved(
                {"direct": direct, "cold": layer, "warm": layer},
                repeat,
                before={"cold": st.cache_data.clear},
            )
            results.append(QueryResult(case, rows, **timings))
    finally:
        for con in connections.values():
            con.close()
        st.cache_data.clear()
    return results
