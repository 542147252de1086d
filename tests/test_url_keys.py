"""URL keys: each means one thing on every page (docs/ARCHITECTURE.md, « Naming »), and links made
before a key was renamed still open the same view.

The keys the code reads are found in its source (the `dashboard/state.py` filters, take-away
switches, links to pages) and compared with the table of docs/ARCHITECTURE.md, where each key has
one row, one meaning and the pages that read it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from etl.paths import ROOT

APP = ROOT / "dashboard" / "app.py"
VIEWS_DIR = ROOT / "dashboard" / "views"
DASHBOARD = sorted((ROOT / "dashboard").rglob("*.py"))
STATE_WIDGETS = {"select", "multiselect", "toggle", "text", "tabs"}
LINK_KEY = re.compile(r"[a-z-]\?([a-z_]+)=|&([a-z_]+)=")
EVERY_PAGE = "every page"


def _strings(tree: ast.Module) -> dict[str, str]:
    """The module's constants bound to a string (COMMUNE_PARAM = "commune")."""
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }


def keys_read(path: Path) -> set[str]:
    """The URL keys a source file reads or writes: its state filters, its take-away switches'
    `view_param`, the keys of links it builds (query_params dicts, « page?key= » strings)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = _strings(tree)

    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return names.get(node.id) if isinstance(node, ast.Name) else None

    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "state"
                and func.attr in STATE_WIDGETS
                and node.args
            ):
                keys.add(text(node.args[0]))
            for keyword in node.keywords:
                if keyword.arg == "view_param":
                    keys.add(text(keyword.value))
                if keyword.arg == "query_params" and isinstance(keyword.value, ast.Dict):
                    keys.update(text(key) for key in keyword.value.keys)
            if isinstance(func, ast.Name | ast.Attribute) and (
                getattr(func, "id", None) == "link" or getattr(func, "attr", None) == "link"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Dict):
                        keys.update(text(key) for key in arg.keys)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            keys.update(a or b for a, b in LINK_KEY.findall(node.value))
    keys.discard(None)
    return keys


def renamed_keys(path: Path) -> dict[str, str]:
    """A view's `RENAMED_KEYS = {old: new}` (empty when it renamed none)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "RENAMED_KEYS" for target in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def documented_keys() -> dict[str, set[str]]:
    """docs/ARCHITECTURE.md's table of URL keys: key -> the pages (view file names) listed."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table: dict[str, set[str]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        pages = {page.strip() for page in cells[2].split(",")}
        for key in re.findall(r"`([a-z_]+)`", cells[0]):
            assert key not in table, f"{key}: two rows, two meanings"
            table[key] = pages
    return table


def test_the_table_is_read():
    """The parsing above finds the table (so that the tests below can fail)."""
    table = documented_keys()
    assert {"theme", "variable", "indicateur", "valeur", "onglet"} <= table.keys()
    assert table["indicateur"] == {"besoins"}


def test_every_key_the_code_reads_has_its_row():
    used = set().union(*(keys_read(path) for path in DASHBOARD)) | {state.LANG_PARAM}
    documented = documented_keys()
    assert used - documented.keys() == set(), "add these keys to docs/ARCHITECTURE.md § Naming"
    assert documented.keys() - used == set(), "these keys are read nowhere: remove their rows"


@pytest.mark.parametrize("view", sorted(VIEWS_DIR.glob("*.py")), ids=lambda path: path.stem)
def test_each_page_is_listed_where_it_reads_a_key(view):
    documented = documented_keys()
    for key in keys_read(view):
        pages = documented[key]
        assert view.stem in pages or "every page" in pages, (
            f"{view.name} reads ?{key}=: add it to the key's row (and check it means {key!r} "
            "as on the other pages)"
        )


@pytest.mark.parametrize("view", sorted(VIEWS_DIR.glob("*.py")), ids=lambda path: path.stem)
def test_a_renamed_key_is_no_longer_read_by_its_page(view):
    renamed = renamed_keys(view)
    read = keys_read(view)
    assert not renamed.keys() & read, f"{view.name} still reads {renamed.keys() & read}"
    assert set(renamed.values()) <= read
    if renamed:
        assert "follow_renamed(RENAMED_KEYS)" in view.read_text(encoding="utf-8")


def test_the_double_meanings_found_are_gone():
    """`indicateur` and `mesure` meant two things (a metric on Tendances, an indicator code or the
    map's measure on Besoins); so did `niveau` and `periode` (Données, Remontées) and `vue` (a tab
    on Qui fait quoi, a chart or table elsewhere)."""
    reading = {key: {v.stem for v in VIEWS_DIR.glob("*.py") if key in keys_read(v)} for key in
               ("indicateur", "mesure", "niveau", "periode")}  # fmt: skip
    assert reading == {
        "indicateur": {"besoins"},
        "mesure": {"trends"},
        "niveau": {"donnees"},
        "periode": {"donnees"},
    }
    assert "vue" not in keys_read(VIEWS_DIR / "qui_fait_quoi.py")


# --- old links ----------------------------------------------------------------------------------


def open_page(view: str, **params: str | list[str]) -> AppTest:
    """The app opened on `view` with `params` in its address, as a first visit would."""
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.switch_page("views/methodologie.py")  # no filter: nothing in the session beforehand
    at.run()
    at.switch_page(f"views/{view}")
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def address(at: AppTest, name: str) -> list[str]:
    value = at.query_params.get(name, [])
    return [value] if isinstance(value, str) else list(value)


def test_an_old_trends_link_opens_the_same_view(demo_env):
    at = open_page("trends.py", indicateur="prestations", mesure="rate")
    assert at.selectbox(key="url_variable").value == "prestations"
    assert at.radio(key="url_mesure").value == "rate"  # `mesure` kept its meaning here
    assert "indicateur" not in at.query_params
    assert address(at, "variable") == ["prestations"]


def test_an_old_besoins_link_opens_the_same_view(demo_env):
    at = open_page("besoins.py", mesure="indicator", indicateur="age_65plus_pct")
    assert at.radio(key="url_valeur").value == "indicator"
    assert at.selectbox(key="url_indicateur").value == "age_65plus_pct"  # kept its meaning
    assert "mesure" not in at.query_params
    assert address(at, "valeur") == ["indicator"]


def test_an_old_remontees_link_opens_the_same_view(demo_env):
    at = open_page("remontees.py", niveau=["alerte", "vigilance"], periode="12m")
    assert at.multiselect(key="url_gravite").value == ["alerte", "vigilance"]
    assert at.selectbox(key="url_dates").value == "12m"
    assert "niveau" not in at.query_params and "periode" not in at.query_params
    assert address(at, "gravite") == ["alerte", "vigilance"]


def test_an_old_directory_link_opens_the_same_tab(demo_env):
    at = open_page("qui_fait_quoi.py", vue="tableau", carte_vue="tableau")
    assert address(at, "onglet") == ["tableau"]
    assert address(at, "vue_carte") == ["tableau"]
    assert "vue" not in at.query_params and "carte_vue" not in at.query_params


def test_the_new_key_wins_over_the_old_one(demo_env):
    at = open_page("trends.py", indicateur="prestations", variable="liste_attente")
    assert at.selectbox(key="url_variable").value == "liste_attente"
    assert "indicateur" not in at.query_params
