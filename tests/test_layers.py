"""The layers' one-way arrow (docs/ARCHITECTURE.md, « The layers »): the dashboard imports `etl`,
never the reverse, so that the ETL, the exports and the command line run without Streamlit.

Every import statement of etl/ is read, those inside functions too (a late import is still an
arrow). The one arrow left is listed below with its reason; the list may only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from etl.paths import ROOT

ETL = sorted((ROOT / "etl").rglob("*.py"))
# file -> why it still imports the dashboard. etl/cli_bulletin.py: the quarterly bulletin is drawn
# by dashboard/bulletin.py with the pages' texts (dashboard/i18n.py), chart helpers
# (dashboard/components/charts.py, signals_charts.py, signals_text.py) and needs model
# (dashboard/components/needs.py, which reads through dashboard/data.py): moving them out of the
# dashboard is docs/ARCHITECTURE.md's open item.
KNOWN_ARROWS = {"etl/cli_bulletin.py": "the quarterly bulletin (dashboard/bulletin.py)"}


def dashboard_imports(path: Path) -> list[str]:
    """The `import dashboard…` / `from dashboard… import …` statements of a file, as written."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "dashboard" or name.startswith("dashboard.") for name in names):
            found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("path", ETL, ids=lambda path: str(path.relative_to(ROOT)))
def test_etl_does_not_import_the_dashboard(path: Path):
    name = str(path.relative_to(ROOT))
    if name in KNOWN_ARROWS:
        assert dashboard_imports(path), f"{name} no longer imports the dashboard: unlist it"
        return
    assert not dashboard_imports(path), (
        f"{name} imports the dashboard: move what it needs under etl/ (no Streamlit)"
    )


def test_the_scan_sees_late_and_aliased_imports(tmp_path: Path):
    """The check catches what it looks for (so that the test above can fail)."""
    module = tmp_path / "module.py"
    module.write_text(
        "import os\n"
        "def f():\n"
        "    from dashboard.bulletin import write_bulletin\n"
        "    import dashboard.i18n as words\n"
        "from dashboards import x\n"
        "from . import dashboard\n",
        encoding="utf-8",
    )
    assert dashboard_imports(module) == [
        "from dashboard.bulletin import write_bulletin",
        "import dashboard.i18n as words",
    ]
