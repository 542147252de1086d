"""One query runner (etl/queries.py): the dashboard's data module, the exports and command line
(`etl.exports.public_runner`) and the publish (`etl.analysis.public_sql.tables_runner`) refuse the
same mistakes — a name that is not a file of queries/, a parameter missing or unknown."""

from __future__ import annotations

import ast

import pytest

from dashboard import data
from etl import exports, queries
from etl.analysis.public_sql import tables_runner
from etl.paths import QUERIES_DIR, ROOT

MISTAKES = [
    # (query name, parameters, what the message says)
    ("no_such_query", {}, "inconnue"),
    ("../etl/schema/001_reference", {}, "invalide"),
    ("ref_themes;drop", {}, "invalide"),
    ("overview_kpis", {}, "manquants \\['year'\\]"),  # overview_kpis binds $year
    ("ref_themes", {"year": 2024}, "inconnus \\['year'\\]"),  # ref_themes binds nothing
    ("overview_kpis", {"year": 2024, "theme": "x"}, "inconnus \\['theme'\\]"),
]


def test_the_mistakes_are_mistakes():
    """The cases above are what they claim: the query files and their parameters as written."""
    assert (QUERIES_DIR / "overview_kpis.sql").exists()
    assert queries.query_parameters("overview_kpis") == {"year"}
    assert queries.query_parameters("ref_themes") == set()
    assert not (QUERIES_DIR / "no_such_query.sql").exists()


@pytest.mark.parametrize(("name", "params", "message"), MISTAKES)
def test_the_dashboard_refuses(demo_env, name, params, message):
    with pytest.raises(queries.QueryError, match=message):
        data.run(name, **params)
    with pytest.raises(queries.QueryError, match=message):
        data.run_admin(name, **params)


@pytest.mark.parametrize(("name", "params", "message"), MISTAKES)
def test_the_exports_and_command_line_refuse(demo_db, name, params, message):
    with exports.public_runner(demo_db) as run:
        with pytest.raises(queries.QueryError, match=message):
            run(name, **params)
        # …and the same runner answers a correct call.
        assert run("ref_themes").height > 0


@pytest.mark.parametrize(("name", "params", "message"), MISTAKES)
def test_the_publish_refuses(name, params, message):
    with tables_runner({}) as run, pytest.raises(queries.QueryError, match=message):
        run(name, **params)


def test_a_correct_call_binds_lists_and_tuples_alike(demo_db):
    with exports.public_runner(demo_db) as run:
        as_list = run("export_gaps", year_from=2019, year_to=2024, themes=["*"], ofs=[6621])
        as_tuple = run("export_gaps", year_from=2019, year_to=2024, themes=("*",), ofs=(6621,))
    assert as_list.height > 0
    assert as_list.equals(as_tuple)
    assert set(as_list["ofs_number"].to_list()) == {6621}


def _calls_sql_text_directly(path) -> list[str]:
    """Places that read a query file's text to run it themselves, bypassing the runner."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "QUERIES_DIR":
            found.append(f"{path.name}:{node.lineno}")
        if isinstance(node, ast.Name) and node.id == "QUERIES_DIR":
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_only_the_runner_reads_the_query_files():
    product = [*(ROOT / "dashboard").rglob("*.py"), *(ROOT / "etl").rglob("*.py")]
    readers = {
        str(path.relative_to(ROOT))
        for path in product
        if _calls_sql_text_directly(path) and path.name != "paths.py"
    }
    assert readers == {"etl/queries.py"}


def test_the_runner_imports_no_streamlit():
    tree = ast.parse((ROOT / "etl" / "queries.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert "streamlit" not in imported and "dashboard" not in imported
