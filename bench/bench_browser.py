"""The dashboard as visitors get it: a real `streamlit run` process and Debian Chromium.

One server per scale, started after Chromium is already up (the browser's own start is not the
dashboard's), in the hosted dashboard's Streamlit configuration (deploy/streamlit/config.toml: no
file watcher, no developer tools; `development=True` runs the repository's, what `make run` uses),
measures:
- cold start: from the server process's start to the first page fully drawn in the browser;
- the map page: from navigation to its 45 communes drawn (`path.choroplethlocation`), first visit
  and later ones;
- every page, each opened by its URL (a new session, as a shared link opens it) until drawn
  (script finished, no skeleton left, every Plotly chart's SVG there: the last chart drawn), the
  Administration page signed in; then every page again, warm (the server's caches and the
  browser's have seen it once: a returning visitor): the target is every page ≤ 1 s warm; then
  every page by its URL in a new browser context (a first-time visitor: empty HTTP cache, the
  frontend's 4–8 MB of JavaScript fetched and compiled); then every page reached from the sidebar
  in one session (no page load: what the target costs without the browser's start of a
  Streamlit page);
- the server process's peak memory: VmHWM of /proc/<pid>/status once every page was visited.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.timing import Timing
from tests.deploy_stack import production_site
from tests.servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_process,
    stop_process,
    streamlit_command,
    wait_for_url,
)

SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLOTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                   .every(chart => chart.querySelector('svg.main-svg'))"""
MAP_DRAWN = "() => document.querySelectorAll('path.choroplethlocation').length >= 45"
MAP_PATH = "besoins-et-lacunes"
ADMIN_PATH = "administration"
ADMIN_PASSWORD = "banc-d-essai-observatoire"
TIMEOUT_MS = 180_000


@dataclass
class BrowserResult:
    server_ready_s: float  # process start → /_stcore/health answers
    cold_start_s: float  # process start → first page drawn
    first_page_s: float  # navigation → first page drawn (inside cold_start_s)
    cold_start_cpu_s: float  # CPU the server process used until then (steadier on a busy machine)
    map_first_s: float  # navigation → 45 communes drawn, first visit of the map page
    map_warm: Timing  # the same, later visits
    pages: dict[str, float] = field(default_factory=dict)  # url path → navigation → drawn
    pages_warm: dict[str, float] = field(default_factory=dict)  # the same, second visit
    pages_first_time: dict[str, float] = field(default_factory=dict)  # by URL, empty cache
    pages_in_app: dict[str, float] = field(default_factory=dict)  # sidebar click → drawn, warm
    peak_rss_bytes: int = 0  # VmHWM of the server process
    page_errors: list[str] = field(default_factory=list)
    cold_starts: tuple[float, ...] = ()  # every cold start measured (the median is above)


def peak_rss(pid: int) -> int:
    """The process's resident-memory high-water mark (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"VmHWM absent de /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_drawn(page) -> None:
    """Until the script has finished, skeletons are gone and every Plotly chart has its svg."""
    page.wait_for_selector(SCRIPT_DONE, state="attached", timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=TIMEOUT_MS)
    page.wait_for_function(PLOTS_DRAWN, timeout=TIMEOUT_MS)


def _open(page, url: str, *, map_page: bool = False) -> float:
    """Seconds from navigation to the page drawn (the map's 45 communes for the map page)."""
    started = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    if map_page:
        page.wait_for_function(MAP_DRAWN, timeout=TIMEOUT_MS)
    _wait_drawn(page)
    return time.perf_counter() - started


def _navigate_in_app(page, base: str, path: str, *, home: bool, map_page: bool) -> float:
    """Seconds from a click on the page's sidebar link (same session, no reload) to it drawn."""
    from bench.concurrency_clients import COUNT_RUNS, NAVIGATED_AND_DRAWN

    href = f"{base}/" if home else f"{base}/{path}"
    page.evaluate(COUNT_RUNS)
    started = time.perf_counter()
    page.locator(f'[data-testid="stSidebarNavLink"][href="{href}"]').click(timeout=TIMEOUT_MS)
    # A page that runs in a few milliseconds (Administration's sign-in form) may never show
    # « running » in the DOM (React batches both states), so reaching its address counts as a run.
    page.wait_for_function(NAVIGATED_AND_DRAWN, arg=href, timeout=TIMEOUT_MS)
    if map_page:
        page.wait_for_function(MAP_DRAWN, timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def _sign_in(page) -> None:
    page.get_by_label("Mot de passe", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Connecté·e").first.wait_for(timeout=TIMEOUT_MS)
    _wait_drawn(page)


def page_paths() -> list[str]:
    """The url path of every page, in menu order (dashboard/app.py)."""
    from dashboard.app import PAGES

    return [spec.url_path for spec in PAGES]


@dataclass(frozen=True)
class ColdStart:
    server_ready_s: float  # process start → /_stcore/health answers
    first_page_s: float  # navigation → first page drawn
    total_s: float  # process start → first page drawn
    cpu_s: float  # CPU the server process used until then


def _environment(db_path: Path, log_dir: Path, port: int) -> dict[str, str]:
    from dashboard.auth import HASH_ENV_VAR, hash_password

    home = log_dir / f"home-{port}"  # no personal ~/.streamlit
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "OBSERVATOIRE_DB": str(db_path),
        "HOME": str(home),
        HASH_ENV_VAR: hash_password(ADMIN_PASSWORD, iterations=1000),
    }


def _cold_start(
    page, db_path: Path, log_dir: Path, development: bool
) -> tuple[subprocess.Popen, str, ColdStart]:
    """A new `streamlit run` process and its first page drawn; the process is left running."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _environment(db_path, log_dir, port)
    log = log_dir / f"streamlit-{port}.log"
    # The working directory decides which .streamlit/config.toml applies (tests/deploy_stack.py).
    site = Path.cwd() if development else production_site(log_dir)
    started = time.perf_counter()
    process = start_process(streamlit_command(port), log, site, env)
    try:
        wait_for_url(f"{base}/_stcore/health", process, log, timeout=120)
        ready = time.perf_counter() - started
        first_page = _open(page, f"{base}/")
        total = time.perf_counter() - started
        return process, base, ColdStart(ready, first_page, total, cpu_seconds(process.pid))
    except BaseException:
        stop_process(process)
        raise


def _settle(page) -> None:
    """Let Chromium finish starting before a server starts: its start is not the dashboard's."""
    page.goto("about:blank")
    page.wait_for_timeout(1500)


def _first_time_visits(browser, base: str, paths: list[str]) -> dict[str, float]:
    """Every page by its URL in a new browser context: nothing in the HTTP cache."""
    seconds = {}
    for path in paths:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            seconds[path] = _open(context.new_page(), f"{base}/{path}", map_page=path == MAP_PATH)
        finally:
            context.close()
    return seconds


# Longer than 60 lines: the visits in their order (cold starts, map, every page first, warm,
# first-time, from the sidebar), each a call, around one server's start and stop.
def measure_browser(
    db_path: Path,
    log_dir: Path,
    map_repeat: int,
    cold_starts: int = 1,
    *,
    development: bool = False,
) -> BrowserResult:
    """Start the dashboard on `db_path`, drive it with Chromium, stop it (see module docstring).

    With `cold_starts` > 1, as many servers are started one after the other and the cold start is
    their median (one stray spike of a shared machine does not make it); the last one is visited.
    """
    from playwright.sync_api import sync_playwright

    log_dir.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    starts: list[ColdStart] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda error: errors.append(str(error)))
            for _ in range(cold_starts - 1):
                _settle(page)
                process, _, start = _cold_start(page, db_path, log_dir, development)
                stop_process(process)
                starts.append(start)
            _settle(page)
            process, base, start = _cold_start(page, db_path, log_dir, development)
            starts.append(start)
            try:
                map_first = _open(page, f"{base}/{MAP_PATH}", map_page=True)
                # Later visits: these, and the map page's visit in the tour of every page.
                map_warm = [
                    _open(page, f"{base}/{MAP_PATH}", map_page=True) for _ in range(map_repeat - 1)
                ]
                pages = {}
                for path in page_paths():
                    pages[path] = _open(page, f"{base}/{path}", map_page=path == MAP_PATH)
                    if path == MAP_PATH:
                        map_warm.append(pages[path])
                    if path == ADMIN_PATH:  # signed in: the raw file's reader counts too
                        _sign_in(page)
                # Warm: a new session per page again, every cache having seen it once.
                paths = page_paths()
                pages_warm = {
                    path: _open(page, f"{base}/{path}", map_page=path == MAP_PATH) for path in paths
                }
                pages_first_time = _first_time_visits(browser, base, paths)
                # Moving between pages inside one session: no page load, no new session.
                pages_in_app = {
                    path: _navigate_in_app(
                        page, base, path, home=path == paths[0], map_page=path == MAP_PATH
                    )
                    for path in paths
                }
                peak = peak_rss(process.pid)
            finally:
                stop_process(process)
        finally:
            browser.close()
    median = sorted(starts, key=lambda s: s.total_s)[len(starts) // 2]
    return BrowserResult(
        server_ready_s=median.server_ready_s,
        cold_start_s=median.total_s,
        first_page_s=median.first_page_s,
        cold_start_cpu_s=median.cpu_s,
        map_first_s=map_first,
        map_warm=Timing(tuple(map_warm)),
        pages=pages,
        pages_warm=pages_warm,
        pages_first_time=pages_first_time,
        pages_in_app=pages_in_app,
        peak_rss_bytes=peak,
        page_errors=errors,
        cold_starts=tuple(s.total_s for s in starts),
    )
