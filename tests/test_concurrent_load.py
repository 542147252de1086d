"""Concurrent use while the ETL loads: the dashboard keeps serving, and no visitor ever sees a
half-loaded state; it survives its database file going missing or corrupt, and recovers.

The live test runs the production server (`streamlit run`) on a copy of the demo database. Twenty
visitors browse it at once through Streamlit's own WebSocket protocol (each a real session on the
server, rerunning pages as a browser does), HTTP clients poll the health and static routes, and
Chromium loads the overview twice, while the ETL (in the test's process, not the server's)
publishes new versions; one more load, `observatoire charger` in its own process, is killed half-way. Each version adds a known number of persons to
2024, so every total a visitor sees must be one of the published versions' totals, computed by hand.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import xlsxwriter
from demo_settings import LATEST_COMPLETE_YEAR as YEAR
from servers import CHROMIUM, CHROMIUM_ARGS, free_port, streamlit_server
from streamlit.testing.v1 import AppTest
from streamlit_visitor import PageRun, Visitor
from test_reliability_support import APP

from etl import db as etl_db
from etl import public, release
from etl.publish import TEMP_PREFIX, next_version
from etl.submission import members
from etl.submission.load import load_files

VISITORS = 20
LOADS = 4  # versions published while visitors browse, plus one load killed half-way
THINK_SECONDS = 0.5  # a visitor reads a page before the next one
STEP = 1000  # persons added to 2024 by each version, by hand: version k adds k × STEP
KILLED_PERSONS = 777_777
MEMBER = "FIAB-01"

PAGES = ["", "tendances", "besoins-et-lacunes", "fiche-communale", "qui-fait-quoi", "donnees"]
PERSONS_LABEL = "Personnes servies"
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
OBSERVATOIRE = Path(sys.executable).with_name("observatoire")
REGISTRY = f"""code,name,categories,themes,active_since,is_demo
{MEMBER},Membre du test de charge,association,alimentation,2015-01-01,true
"""


# --- the database and the files the ETL loads ----------------------------------------------------------


def persons_in_public_file(db_path: Path) -> int:
    """The canton's 2024 total as published (what the overview shows), read directly."""
    con = public.open_public_reader(public.public_path(db_path))
    try:
        return con.execute(
            """select personnes from public.activity_year_cube
               where year = ? and theme = '*' and lieu = '*' and category = '*'""",
            [YEAR],
        ).fetchall()[0][0]
    finally:
        con.close()


def prepare_database(demo_db: Path, directory: Path) -> Path:
    """A copy of the demo database with one more (demo) member, who has sent nothing yet."""
    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "observatoire.duckdb"
    shutil.copyfile(demo_db, db_path)
    registry = directory / "membres.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    with next_version(db_path) as con:
        members.register(con, registry, is_demo=True)
        etl_db.refresh_derived(con)
        public.publish_public(con, db_path)
    return db_path


def member_file(path: Path, persons: int) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("identification")
    sheet.write_row(0, 0, ["membre", MEMBER])
    sheet.write_row(1, 0, ["periode", str(YEAR)])
    sheet = book.add_worksheet("activite")
    sheet.write_row(0, 0, ["theme", "commune", "personnes"])
    sheet.write_row(1, 0, ["alimentation", "Onex", persons])
    book.close()
    return path


def charger(path: Path, db_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(OBSERVATOIRE), "charger", str(path), "--base", str(db_path)],
        cwd=path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_half_way(path: Path, db_path: Path) -> None:
    """Start a load and SIGKILL it once its copy of the database is being written."""
    process = charger(path, db_path)
    deadline = time.monotonic() + 120
    while not list(db_path.parent.glob(f"{TEMP_PREFIX}*")) and time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the load ended before it could be killed")
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    process.stdout.close()


# --- the live test -------------------------------------------------------------------------------------


@dataclass
class Tally:
    runs: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    http: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, run: PageRun) -> None:
        with self.lock:
            self.runs[run.page or "vue-d-ensemble"] += 1
            persons = run.number(PERSONS_LABEL)
            if persons is not None:
                self.totals[persons] += 1
            if run.exceptions or run.errors or run.status != 0:
                self.problems.append(f"{run.page}: {run.exceptions} {run.errors} {run.status}")


def browse(url: str, number: int, tally: Tally, stop: threading.Event) -> None:
    """Visit pages in turn, the overview every other time, until told to stop."""
    try:
        with Visitor(url) as visitor:
            turn = number
            while not stop.is_set():
                page = "" if turn % 2 == 0 else PAGES[(turn // 2) % len(PAGES)]
                tally.record(visitor.run(page, f"annee={YEAR}" if page == "" else ""))
                turn += 1
                stop.wait(THINK_SECONDS)
    except Exception as error:  # noqa: BLE001 — a refused or broken session is a failure
        tally.problems.append(f"visiteur {number} : {error!r}")


def poll_http(base: str, tally: Tally, stop: threading.Event) -> None:
    paths = ["/_stcore/health", "/app/static/topojson/world_110m.json", "/"]
    turn = 0
    while not stop.is_set():
        path = paths[turn % len(paths)]
        try:
            with urllib.request.urlopen(base + path, timeout=30) as response:
                response.read()
                tally.http["200" if response.status == 200 else str(response.status)] += 1
        except Exception as error:  # noqa: BLE001
            tally.http["erreur"] += 1
            tally.problems.append(f"HTTP {path} : {error!r}")
        turn += 1
        time.sleep(0.05)


def overview_in_chromium(base: str) -> tuple[int, list[str]]:
    """The overview in a real browser: its persons figure, and any JavaScript error.

    Run in a thread of its own: Playwright's sync API refuses a thread whose asyncio loop is
    running, which the main thread's is once pytest-playwright's browser tests have run.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_overview_in_chromium, base).result()


def _overview_in_chromium(base: str) -> tuple[int, list[str]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            # A loaded 2-core machine (the ETL publishing beside 20 visitors) can take a minute to answer.
            page.goto(f"{base}/?annee={YEAR}", wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector(SCRIPT_DONE, state="attached", timeout=120_000)
            metric = page.locator('[data-testid="stMetric"]', has_text=PERSONS_LABEL).first
            value = metric.locator('[data-testid="stMetricValue"]').inner_text()
            return int(re.sub(r"\D", "", value)), errors
        finally:
            browser.close()


@pytest.fixture
def load_test_db(demo_db, tmp_path) -> Path:
    return prepare_database(demo_db, tmp_path / "db")


def url_of(port: int) -> str:
    """The dashboard's websocket, as a visitor's browser opens it."""
    return f"ws://127.0.0.1:{port}/_stcore/stream"


def test_visitors_never_see_a_half_loaded_state_while_the_etl_publishes(load_test_db, tmp_path):
    db_path = load_test_db
    base_total = persons_in_public_file(db_path)
    expected = {base_total + k * STEP for k in range(LOADS + 1)}  # by hand
    files = tmp_path / "files"
    files.mkdir()
    port = free_port()
    tally, stop = Tally(), threading.Event()
    published: list[int] = []
    browser_totals: list[int] = []
    started = time.monotonic()

    def etl() -> None:
        for k in range(1, LOADS + 1):
            if k == 2:
                kill_half_way(member_file(files / "interrompu.xlsx", KILLED_PERSONS), db_path)
            # In this process (not the server's): the code path of `observatoire charger`.
            [result] = load_files([member_file(files / f"envoi-{k}.xlsx", k * STEP)], db_path)
            assert result.status in ("charge", "remplace"), result.issues
            published.append(persons_in_public_file(db_path))

    log = tmp_path / "streamlit.log"
    # Daemon threads, and the stop event set in `finally`: whatever fails in the body, no visitor
    # keeps polling after the test (a non-daemon thread left running keeps pytest from exiting).
    threads = [
        threading.Thread(target=browse, args=(url_of(port), n, tally, stop), daemon=True)
        for n in range(VISITORS)
    ]
    threads.append(
        threading.Thread(
            target=poll_http, args=(f"http://127.0.0.1:{port}", tally, stop), daemon=True
        )
    )
    loader = threading.Thread(target=etl, daemon=True)
    try:
        with streamlit_server(port, db_path=db_path, log_path=log, timeout=120):
            base = f"http://127.0.0.1:{port}"
            url = url_of(port)
            with Visitor(
                url
            ) as first:  # the first run imports Plotly: before the load test's clock
                assert first.run("", f"annee={YEAR}").number(PERSONS_LABEL) == base_total
            for thread in threads:
                thread.start()
            loader.start()
            for _ in range(2):
                total, page_errors = overview_in_chromium(base)
                browser_totals.append(total)
                assert page_errors == []
            loader.join(timeout=600)
            assert not loader.is_alive()
            time.sleep(3)  # every visitor sees the last version at least once
            stop.set()
            for thread in threads:
                thread.join(timeout=240)
            duration = time.monotonic() - started
            recovered = missing_then_back(url, db_path)
    finally:
        stop.set()

    assert tally.problems == []
    assert published == [base_total + k * STEP for k in range(1, LOADS + 1)]
    assert set(tally.totals) <= expected and set(browser_totals) <= expected
    assert len(tally.totals) >= 2  # visitors did see versions change under them
    assert KILLED_PERSONS + base_total not in tally.totals
    assert list(db_path.parent.glob(f"{TEMP_PREFIX}*")) == []  # the killed copy was cleared
    assert recovered == base_total + LOADS * STEP
    page_runs = sum(tally.runs.values())
    print(
        f"\nFIGURE | charge : {VISITORS} visiteurs, {page_runs} pages servies ({dict(tally.runs)}), "
        f"{sum(tally.http.values())} requêtes HTTP ({dict(tally.http)}), 2 pages Chromium, "
        f"{LOADS} chargements publiés + 1 tué en cours, {duration:.0f} s, "
        f"{len(tally.problems)} erreur, versions vues {len(tally.totals)}/{LOADS + 1}"
    )


def missing_then_back(url: str, db_path: Path) -> int:
    """The public file of the current release vanishes (a damaged disk, a hand-made mistake): pages
    say so in French; it comes back."""
    public_file = release.current(db_path).public
    aside = public_file.with_name("mis-de-cote.duckdb")
    try:
        with Visitor(url) as visitor:
            return _missing_then_back(visitor, public_file, aside)
    finally:
        with contextlib.suppress(FileNotFoundError):
            aside.rename(public_file)


def _missing_then_back(visitor: Visitor, public_file: Path, aside: Path) -> int:
    public_file.rename(aside)
    gone = visitor.run("", f"annee={YEAR}")
    assert gone.exceptions == [] and gone.number(PERSONS_LABEL) is None
    assert any("introuvable" in error for error in gone.errors), gone.errors
    aside.rename(public_file)
    back = visitor.run("", f"annee={YEAR}")
    assert back.errors == [] and back.exceptions == []
    return back.number(PERSONS_LABEL)


# --- the database file going wrong under one session (AppTest) -----------------------------------------


def overview_session(db_path: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("OBSERVATOIRE_DB", str(db_path))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def swap_in(path: Path, content: bytes) -> None:
    """Replace a file atomically, as a publication or a restore does."""
    temporary = path.with_name(f"{path.name}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("garbage", "illisible ou corrompue"),
        ("truncated", "illisible ou corrompue"),
        ("empty", "illisible ou corrompue"),
    ],
)
def test_a_broken_public_file_gives_a_french_message_then_the_session_recovers(
    fault, message, demo_db, tmp_path, monkeypatch
):
    """Extends tests/test_pages.py (missing file, then back; garbage in a new session): here one
    session sees the file break and come back, and a truncated or empty file counts too."""
    db_path = tmp_path / "observatoire.duckdb"
    shutil.copyfile(demo_db, db_path)
    public_file = public.public_path(db_path)
    good = public.public_path(demo_db).read_bytes()
    public_file.write_bytes(good)
    at = overview_session(db_path, monkeypatch)
    broken = {
        "garbage": b"ceci n'est pas une base DuckDB" * 100,
        "truncated": good[: len(good) // 2],
        "empty": b"",
    }[fault]
    swap_in(public_file, broken)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(message in error.value for error in at.error), [e.value for e in at.error]
    swap_in(public_file, good)
    at.run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Vue d'ensemble"


def test_the_raw_file_missing_does_not_stop_the_public_pages(demo_db, tmp_path, monkeypatch):
    """Public pages read only the public file: the raw one may be away (being restored)."""
    db_path = tmp_path / "observatoire.duckdb"
    shutil.copyfile(public.public_path(demo_db), public.public_path(db_path))
    at = overview_session(db_path, monkeypatch)
    assert not db_path.exists() and at.metric
