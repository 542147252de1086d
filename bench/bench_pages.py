"""Server-side render time of every page (Streamlit AppTest), and the queries each page runs.

Each visit opens the app, clears every Streamlit cache (a first visit after the server started),
then times the switch to the page (cold) and reruns of it (warm: what a widget change costs when
the data is already cached). While the cold visit runs, every `dashboard.data.run` call is
recorded, so the query benchmark measures exactly what the pages ask for, with their parameters.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.timing import Timing, timed
from etl.paths import ROOT

APP = ROOT / "dashboard" / "app.py"
APPTEST_TIMEOUT_S = 300
# A PBKDF2 hash of a throwaway password with few iterations: the Administration page only needs
# sign-in to be configured; the bench signs in by putting the identity in the session.
ADMIN_HASH_ITERATIONS = 1000


@dataclass(frozen=True)
class Visit:
    """One page as a visitor opens it: a file of dashboard/views/ and URL parameters."""

    label: str
    view: str
    params: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    signed_in: bool = False


# Every page with its defaults, and the interactions that read other parts of the data.
VISITS = (
    Visit("Vue d'ensemble", "overview.py"),
    Visit("Tendances", "trends.py"),
    Visit(
        "Tendances (communes, trimestres)",
        "trends.py",
        (("ventilation", "lieu"), ("communes", ("GE", "6608", "6621")), ("pas", "quarter")),
    ),
    Visit("Besoins et lacunes (carte)", "besoins.py"),
    Visit(
        "Besoins et lacunes (taux, tous thèmes)", "besoins.py", (("theme", "*"), ("mesure", "rate"))
    ),
    Visit("Couverture thématique", "couverture.py"),
    Visit("Fiche communale", "fiche.py"),
    Visit("Fiche communale (Carouge)", "fiche.py", (("commune", "6608"),)),
    Visit("Qui fait quoi", "qui_fait_quoi.py"),
    Visit("Remontées du terrain", "remontees.py"),
    Visit("Données", "donnees.py"),
    Visit("Méthodologie", "methodologie.py"),
    Visit("Administration", "administration.py", signed_in=True),
)


@dataclass
class PageResult:
    visit: Visit
    cold: Timing
    warm: Timing
    queries: list[tuple[str, dict]] = field(default_factory=list)  # (name, params) of data.run
    admin_queries: list[tuple[str, dict]] = field(default_factory=list)  # data.run_admin
    error: str | None = None


@contextlib.contextmanager
def recorded_queries() -> Iterator[tuple[list, list]]:
    """Record every `data.run` and `data.run_admin` call (name, params) while the block runs."""
    from dashboard import data

    public_calls: list[tuple[str, dict]] = []
    admin_calls: list[tuple[str, dict]] = []
    original_run, original_admin = data.run, data.run_admin

    def run(query_name: str, **params: object):
        public_calls.append((query_name, params))
        return original_run(query_name, **params)

    def run_admin(query_name: str, **params: object):
        admin_calls.append((query_name, params))
        return original_admin(query_name, **params)

    data.run, data.run_admin = run, run_admin
    try:
        yield public_calls, admin_calls
    finally:
        data.run, data.run_admin = original_run, original_admin


def clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@contextlib.contextmanager
def admin_configured() -> Iterator[None]:
    """Sign-in configured through the environment for the duration of the block."""
    from dashboard import auth

    previous = os.environ.get(auth.HASH_ENV_VAR)
    os.environ[auth.HASH_ENV_VAR] = auth.hash_password(
        "banc-d-essai-observatoire", iterations=ADMIN_HASH_ITERATIONS
    )
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(auth.HASH_ENV_VAR, None)
        else:
            os.environ[auth.HASH_ENV_VAR] = previous


def _errors(at) -> str | None:
    if at.exception:
        return "; ".join(str(e.value)[:200] for e in at.exception)
    return None


def visit_page(visit: Visit, repeat: int) -> PageResult:
    """Cold render once per repetition (caches cleared), then warm reruns; queries recorded."""
    from streamlit.testing.v1 import AppTest

    from dashboard import auth

    cold, warm, queries, admin_queries, error = [], [], [], [], None
    for index in range(repeat):
        at = AppTest.from_file(str(APP), default_timeout=APPTEST_TIMEOUT_S)
        for name, value in visit.params:
            at.query_params[name] = list(value) if isinstance(value, tuple) else value
        at.run()
        if visit.signed_in:
            at.session_state["_admin_identity"] = auth.AdminIdentity(
                "banc d'essai", "motdepasse", dt.datetime.now()
            )
        clear_caches()
        with recorded_queries() as (public_calls, admin_calls):
            _, seconds = timed(lambda at=at: at.switch_page(f"views/{visit.view}").run())
        cold.append(seconds)
        error = error or _errors(at)
        if index == 0:
            queries, admin_queries = list(public_calls), list(admin_calls)
        _, seconds = timed(lambda at=at: at.run())
        warm.append(seconds)
        error = error or _errors(at)
    return PageResult(
        visit, Timing(tuple(cold)), Timing(tuple(warm)), queries, admin_queries, error
    )


def visit_all(repeat: int, progress=print) -> list[PageResult]:
    """Every visit of VISITS against the database named by $OBSERVATOIRE_DB."""
    results = []
    with admin_configured():
        for visit in VISITS:
            result = visit_page(visit, repeat)
            progress(
                f"    {visit.label:<42} froid {result.cold.p50 * 1000:7.0f} ms, "
                f"chaud {result.warm.p50 * 1000:6.0f} ms, {len(result.queries)} requêtes"
                + (f" — ERREUR {result.error}" if result.error else "")
            )
            results.append(result)
    clear_caches()
    return results
