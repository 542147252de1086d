"""docs/ARCHITECTURE.md names real files and functions: each `path` and `path:name` it cites
exists, so the map cannot drift from the code without a test failing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from etl.paths import ROOT

DOCS = [ROOT / "docs" / "ARCHITECTURE.md", ROOT / "docs" / "CONTRIBUTING.md"]
TOP = ("etl", "dashboard", "queries", "tests", "docs", "data", "bench", "deploy", "scripts")
# `path` or `path:name` inside backticks, the path starting at a top folder of the repository.
CITED = re.compile(rf"`((?:{'|'.join(TOP)})/[\w./-]*?)(?::(\w+)(?:\([^`]*\))?)?`")


def citations(doc: Path) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in CITED.finditer(doc.read_text(encoding="utf-8"))]


def defined_names(path: Path) -> set[str]:
    """Names a file defines: functions, classes, methods and module-level assignments (Python);
    tables, views and CTEs (SQL)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".sql":
        found = re.findall(
            r"(?:table|view)\s+(?:\w+\.)?(\w+)\s+as|(\w+)\s+as\s+(?:not\s+materialized\s+)?\(",
            text,
            re.IGNORECASE,
        )
        return {name for pair in found for name in pair if name}
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


CASES = sorted(
    {(doc.name, path, name) for doc in DOCS for path, name in citations(doc)},
    key=lambda case: (case[0], case[1], case[2] or ""),
)


def test_the_map_cites_enough_to_be_checked():
    """The pattern finds the map's citations (a broken pattern would make every case vanish)."""
    cited = {(path, name) for _, path, name in CASES}
    assert ("etl/submission/load.py", "load_files") in cited
    assert ("queries/needs_commune_theme.sql", None) in cited
    assert len(CASES) > 80


@pytest.mark.parametrize(("doc", "path", "name"), CASES, ids=lambda v: str(v))
def test_every_cited_path_and_function_exists(doc, path, name):
    target = ROOT / path.rstrip("/")
    assert target.exists(), f"{doc} cites {path}, which does not exist"
    if name is not None:
        assert name in defined_names(target), f"{doc} cites {path}:{name}, not defined there"


def test_every_query_file_named_by_the_map_is_a_query():
    text = DOCS[0].read_text(encoding="utf-8")
    for name in re.findall(r"queries/(\w+)\.sql", text):
        assert (ROOT / "queries" / f"{name}.sql").exists(), name
