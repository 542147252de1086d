"""The size rules of product code (docs/CONTRIBUTING.md): files of at most 500 lines, functions of
at most 60 lines unless a comment says why (« # Longer than 60 lines: <why> », just above the
`def` or at the top of its body). Run as a script, it lists the long functions:
`.venv/bin/python tests/test_code_size.py`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_CODE = sorted([*(ROOT / "etl").rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")])
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60
MARKER = "# Longer than 60 lines:"


def long_functions(path: Path) -> list[tuple[str, int, bool]]:
    """(name, lines, explained) of each function of `path` over MAX_FUNCTION_LINES."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = node.end_lineno - node.lineno + 1
        if length <= MAX_FUNCTION_LINES:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1  # 0-based
        above = []
        for line in reversed(lines[:first]):
            if not line.strip().startswith("#"):
                break
            above.append(line)
        body_start = node.body[0].end_lineno if ast.get_docstring(node) else node.lineno
        top = [line for line in lines[body_start : body_start + 4] if line.strip().startswith("#")]
        explained = any(MARKER in line for line in [*above, *top])
        found.append((node.name, length, explained))
    return found


@pytest.mark.parametrize("path", PRODUCT_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_files_are_at_most_500_lines(path: Path):
    count = len(path.read_text(encoding="utf-8").splitlines())
    assert count <= MAX_FILE_LINES, f"{path.relative_to(ROOT)}: {count} lines, split it"


@pytest.mark.parametrize("path", PRODUCT_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_long_functions_say_why(path: Path):
    unexplained = [f"{name} ({n} lines)" for name, n, ok in long_functions(path) if not ok]
    assert not unexplained, (
        f"{path.relative_to(ROOT)}: {', '.join(unexplained)} — split it, or say why with "
        f"« {MARKER} … »"
    )


def test_the_check_finds_a_long_function(tmp_path: Path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    plain = tmp_path / "plain.py"
    plain.write_text(f"def f():\n{body}\n", encoding="utf-8")
    assert long_functions(plain) == [("f", MAX_FUNCTION_LINES + 1, False)]
    explained = tmp_path / "explained.py"
    explained.write_text(f"{MARKER} a table\ndef f():\n{body}\n", encoding="utf-8")
    assert long_functions(explained) == [("f", MAX_FUNCTION_LINES + 1, True)]


if __name__ == "__main__":
    for path in PRODUCT_CODE:
        for name, length, explained in long_functions(path):
            note = "" if explained else "  (no comment says why)"
            print(f"{length:4d}  {path.relative_to(ROOT)}:{name}{note}")
    sys.exit(0)
