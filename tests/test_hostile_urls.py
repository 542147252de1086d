"""Hostile addresses: every query parameter of every page is checked against an allow-list.

Each page is opened with injection strings, markup, path traversal, out-of-range numbers, huge lists
and unknown parameters in its address. It must render without exception, ignore the values (shown
at most cut short and escaped in a warning), and no query may receive them: every SQL text run is
exactly one of queries/*.sql, with the values bound as parameters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_reliability_support import APP

from dashboard import auth, data
from dashboard.data import query_text
from etl.paths import QUERIES_DIR

# The parameters each page reads from its address (dashboard/views/*.py, through dashboard/state.py).
PAGE_PARAMETERS = {
    "overview.py": ["annee"],
    "trends.py": [
        "variable",
        "ventilation",
        "mesure",
        "pas",
        "themes",
        "communes",
        "categories",
        "theme",
        "lieu",
        "categorie",
    ],
    "besoins.py": ["theme", "annee", "valeur", "indicateur"],
    "couverture.py": ["annee", "valeur"],
    "fiche.py": ["commune", "annee"],
    "qui_fait_quoi.py": ["theme", "commune", "portee", "type", "langue", "jour", "onglet"],
    "remontees.py": ["theme", "commune", "gravite", "dates"],
    "signaux.py": ["trimestre", "theme", "lieu", "afficher"],
    "donnees.py": [
        "niveau",
        "periode",
        "debut",
        "fin",
        "theme",
        "commune",
        "categorie",
        "variable",
    ],
    "methodologie.py": [],
}
ADMIN_PARAMETERS = ["annee", "delai", "a_relancer"]
HOSTILE = [
    "6621' or 1=1--",
    "' UNION SELECT texte FROM observations--",
    "<script>alert('x')</script>",
    "[Reconnectez-vous](http://example.com/vol)",
    "![](http://example.com/pixel.png)",
    "../../etc/passwd",
    "-1",
    "99999999999999999999",
    "2024; drop table activity",
    "${7*7}",
    "\u202eexe.fdp",
    "NaN",
]
LONG_VALUE = "9" * 5000
# Streamlit ignores a query string of more than 1,000 parameters (tested below): one list per page
# is this long, so that the address stays under that limit and is read.
HUGE_LIST = [f"x{i}" for i in range(400)]
# What must never be displayed as such: markup and cut-off values (escaped forms carry
# backslashes; plain words may be shown in the warning).
RAW_MARKERS = ["<script>", "' or 1=1--", "](http://example.com", "${7*7}", "9" * 100]
ALL_QUERIES = {path.read_text(encoding="utf-8") for path in QUERIES_DIR.glob("*.sql")}


@pytest.fixture
def bound_queries(monkeypatch) -> list[tuple[str, object]]:
    """Every (sql, parameters) the dashboard runs during the test."""
    calls: list[tuple[str, object]] = []
    real_query = data._Reader.query

    def recording(reader, sql, params):
        calls.append((sql, params))
        return real_query(reader, sql, params)

    monkeypatch.setattr(data._Reader, "query", recording)
    return calls


def hostile_address(parameters: list[str]) -> dict[str, list[str]]:
    """Each parameter gets a long value and every hostile value (a list filter reads them all, a
    single-value one the last, a different one per parameter); the first also gets a huge list.
    Plus a hostile language and unknown parameters."""
    address = {}
    for index, name in enumerate(parameters):
        rotated = HOSTILE[index % len(HOSTILE) :] + HOSTILE[: index % len(HOSTILE)]
        address[name] = [*(HUGE_LIST if index == 0 else []), LONG_VALUE, *rotated]
    address["lang"] = ["../../etc"]
    address["inconnu"] = ["<script>alert(1)</script>"]
    address["commune' or '1'='1"] = ["1"]
    return address


def open_with(view: str, address: dict[str, list[str]]) -> AppTest:
    """The app opened on `view` with `address` as its query string, as a first visit would.

    AppTest finds a page before the first run only when its address is its file name, as for the
    methodology page, which has no filter: it is run first, so that no filter of another page holds
    a value in the session that would take precedence over the address.
    """
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.switch_page("views/methodologie.py")
    if view != "methodologie.py":
        at.run()
        at.switch_page(f"views/{view}")
    for name, values in address.items():
        at.query_params[name] = values
    at.run()
    return at


def _elements(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _elements(child)


def displayed(at: AppTest) -> str:
    """Everything sent to the browser, every element's message."""
    return "\n".join(str(node.proto) for node in _elements(at._tree) if hasattr(node, "proto"))


def bound_values(calls) -> list[str]:
    values = []
    for _sql, params in calls:
        items = params.values() if isinstance(params, dict) else (params or [])
        for value in items:
            values.extend(map(str, value) if isinstance(value, list | tuple) else [str(value)])
    return values


@pytest.mark.parametrize("view", PAGE_PARAMETERS)
def test_hostile_parameters_are_ignored_and_never_reach_a_query(view, demo_env, bound_queries):
    at = open_with(view, hostile_address(PAGE_PARAMETERS[view]))
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and not at.error, [e.value for e in at.error]
    shown = displayed(at)
    for marker in RAW_MARKERS:
        assert marker not in shown, marker
    assert bound_queries, "the page ran no query"
    assert all(sql in ALL_QUERIES for sql, _ in bound_queries)  # no SQL built from the address
    received = bound_values(bound_queries)
    for value in [*HOSTILE, LONG_VALUE, *HUGE_LIST[:3], "../../etc"]:
        assert value not in received, value
    warnings = [toast.value for toast in at.toast]
    assert any("lang = " in text for text in warnings)  # the address was read, not dropped
    assert len(warnings) <= len(PAGE_PARAMETERS[view]) + 1  # one per parameter at most, + lang
    assert all(len(text) < 200 for text in warnings)  # values are cut short


def test_language_from_a_hostile_address_falls_back_to_french(demo_env):
    at = open_with("overview.py", {"lang": ["../../etc"]})
    assert not at.exception
    assert at.title[0].value == "Vue d'ensemble"
    assert "lang" not in at.query_params
    assert any("lang = \\.\\./\\.\\./etc" in toast.value for toast in at.toast)


def test_a_markdown_link_in_the_address_is_shown_as_text(demo_env):
    at = open_with("overview.py", {"annee": ["[Session](http://ex.com)"]})
    [toast] = [toast.value for toast in at.toast]
    assert "annee = \\[Session\\]\\(http\\://ex\\.com\\)" in toast


def test_free_text_search_is_bounded_and_bound(demo_env, bound_queries):
    """The one free-text parameter (q) is kept as typed in its box, cut at 200 characters; the
    observations feed receives its words as one bound parameter, never as SQL."""
    search = "'; drop table observations; -- " + "é" * 400
    at = open_with("remontees.py", {"q": [search]})
    assert not at.exception, [e.value for e in at.exception]
    box = at.text_input(key="url_q")
    assert box.value == search[:200]
    assert all(sql in ALL_QUERIES for sql, _ in bound_queries)
    feeds = [params for sql, params in bound_queries if sql == query_text("observations_feed")]
    assert feeds and all(
        # by hand: quotes and dashes separate words, accents go, case goes
        params["words"] == [";", "drop", "table", "observations;", "e" * 169]
        for params in feeds
    )
    at = open_with("qui_fait_quoi.py", {"q": [search]})
    assert not at.exception and at.text_input(key="url_q").value == search[:200]


def test_an_address_of_more_than_1000_parameters_is_ignored_whole(demo_env, bound_queries):
    """Streamlit's own limit: such an address is dropped before any page code reads it."""
    at = open_with("trends.py", {"themes": [f"t{i}" for i in range(1200)], "lang": ["en"]})
    assert not at.exception and at.title[0].value == "Tendances"  # lang=en was dropped too
    assert not at.toast
    assert all(sql in ALL_QUERIES for sql, _ in bound_queries)


def test_numbers_out_of_range_fall_back_to_the_defaults(demo_env):
    at = open_with("fiche.py", {"commune": ["0"], "annee": ["1900"]})
    assert not at.exception
    assert at.selectbox(key="url_commune").value == 6621  # Genève, the default commune
    at = open_with("donnees.py", {"debut": ["2099"], "fin": ["-5"]})
    assert not at.exception
    assert at.selectbox(key="url_debut").value == 2019
    assert at.selectbox(key="url_fin").value == 2024


def test_every_page_of_the_app_is_covered():
    views = {path.name for path in (Path(APP).parent / "views").glob("*.py")}
    assert views - set(PAGE_PARAMETERS) == {"administration.py"}  # tested below, signed in
    parameters = sum(map(len, PAGE_PARAMETERS.values())) + len(ADMIN_PARAMETERS)
    print(
        f"\nFIGURE | adresses : {len(views)} pages, {parameters} paramètres, chacun avec "
        f"{len(HOSTILE)} valeurs hostiles, une de {len(LONG_VALUE)} caractères et une liste de "
        f"{len(HUGE_LIST)} valeurs, + lang et 2 paramètres inconnus"
    )


def test_the_administration_page_ignores_hostile_parameters_once_signed_in(
    demo_env, bound_queries, monkeypatch
):
    password = "mot de passe de test"
    monkeypatch.setenv(auth.HASH_ENV_VAR, auth.hash_password(password, iterations=1000))
    at = open_with("administration.py", hostile_address(ADMIN_PARAMETERS))
    at.text_input(key="admin_user_name").set_value("<b>Anna</b>")
    at.text_input(key="admin_password").set_value(password)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.value.startswith("Connecté·e") for m in at.markdown)
    shown = displayed(at)
    for marker in RAW_MARKERS:
        assert marker not in shown, marker
    assert all(sql in ALL_QUERIES for sql, _ in bound_queries)
    received = bound_values(bound_queries)
    assert not {*HOSTILE, LONG_VALUE} & set(received)
