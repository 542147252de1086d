"""The visitors of the concurrency benchmark: WebSocket sessions and a few real Chromium pages.

Each visitor opens a page, then changes its filter every `think_s` seconds (a little jitter keeps
them out of step), then moves to the next page, until the level's time is up. A WebSocket session
speaks Streamlit's protocol (tests/streamlit_visitor.py): no browser, every script run real on the
server. A Chromium page is the whole thing (HTML, JavaScript, the WebSocket, Plotly drawing the
SVG), timed from navigation or from the option picked to the last chart's SVG.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from dataclasses import dataclass, field

from tests.servers import CHROMIUM, CHROMIUM_ARGS
from tests.streamlit_visitor import PageRun, Selectbox, Visitor

OPEN, FILTER = "ouverture", "filtre"
TIMEOUT_MS = 180_000
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Counts the script runs that finish from now on: a filter change is drawn once one more run has
# finished and every Plotly chart has its SVG (the attribute may flip before the rerun starts).
# The whole document is observed, not the stApp element found now: an in-app page switch may mount
# a new stApp, and an observer on the old one would never count (the bench waited 180 s, 1 run in 4).
COUNT_RUNS = """() => {
  window.__benchRuns = 0;
  new MutationObserver(records => {
    for (const record of records) {
      const state = record.target.getAttribute('data-test-script-state');
      if (record.target.dataset.testid === 'stApp' && state === 'notRunning') window.__benchRuns++;
    }
  }).observe(document, {attributes: true, subtree: true,
                        attributeFilter: ['data-test-script-state']});
}"""
PLOTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                   .every(chart => chart.querySelector('svg.main-svg'))"""
RERUN_DRAWN = f"""() => window.__benchRuns > 0
  && document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state')
     === 'notRunning'
  && ({PLOTS_DRAWN})()"""
NAVIGATED_AND_DRAWN = f"""(href) => (window.__benchRuns > 0
     || location.pathname === new URL(href).pathname)
  && document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state')
     === 'notRunning'
  && ({PLOTS_DRAWN})()"""


@dataclass(frozen=True)
class PageUnderLoad:
    """A page the visitors use, and the filter they change on it (its key in dashboard/state.py)."""

    label: str
    path: str  # url path ("" = the home page, as a shared link opens it)
    filter_key: str  # the selectbox's session-state key: its widget id ends with it
    visit: str  # the bench_pages visit of its default view (its queries give the floor)

    def selectbox(self, run: PageRun) -> Selectbox:
        for box in run.selectboxes.values():
            if box.id.endswith(f"-{self.filter_key}"):
                return box
        raise RuntimeError(f"{self.label} : pas de liste « {self.filter_key} » dans la page")


PAGES = (
    PageUnderLoad("Vue d'ensemble", "", "url_annee", "Vue d'ensemble"),
    PageUnderLoad("Besoins et lacunes", "besoins-et-lacunes", "url_theme", "Besoins et lacunes (carte)"),
    PageUnderLoad("Fiche communale", "fiche-communale", "url_commune", "Fiche communale"),
)  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    """Where visitors reach the dashboard: one server, or nginx in front of the replicas."""

    name: str
    ws_url: str
    http_base: str  # what Chromium opens
    server_pids: tuple[int, ...]
    proxy_pids: tuple[int, ...] = ()
    ssl_context: ssl.SSLContext | None = None
    connect_to: tuple[str, int] | None = None  # the address to dial instead of the URL's host
    routes: tuple[str, ...] = ()  # nginx's route cookie, one value per replica: balanced clients
    cookie_name: str = ""
    chromium_args: tuple[str, ...] = ()

    def route(self, client: int) -> str | None:
        return self.routes[client % len(self.routes)] if self.routes else None

    def visitor(self, client: int) -> Visitor:
        route = self.route(client)
        headers = {"Cookie": f"{self.cookie_name}={route}"} if route else None
        # Visitors keep the large elements they received, as browsers do (see Visitor).
        return Visitor(
            self.ws_url,
            ssl_context=self.ssl_context,
            connect_to=self.connect_to,
            headers=headers,
            cache_messages=True,
        )


@dataclass(frozen=True)
class Sample:
    """One page run as a visitor saw it."""

    page: str  # PageUnderLoad.label
    kind: str  # OPEN or FILTER
    client: str  # "ws" or "chromium"
    started: float  # seconds since the level started
    seconds: float  # request → script finished (ws) or → last chart's SVG (chromium)
    ok: bool
    bytes_received: int = 0


@dataclass
class Plan:
    """What every visitor of a level does, and where it writes what it saw."""

    endpoint: Endpoint
    options: dict[str, tuple[str, ...]]  # page label → the filter values visitors pick among
    think_s: float
    filters_per_page: int
    started: float  # time.perf_counter() at the level's start
    stop_at: float  # no request is sent after this (perf_counter)
    seed: int
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def failed(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def wait(self, rng: random.Random, seconds: float | None = None) -> bool:
        """Think (±20 %); False once the level's time is up."""
        pause = self.think_s * rng.uniform(0.8, 1.2) if seconds is None else seconds
        time.sleep(max(0.0, min(pause, self.stop_at - time.perf_counter())))
        return time.perf_counter() < self.stop_at

    def pick(self, rng: random.Random, page: PageUnderLoad, current: str | None) -> str:
        choices = [option for option in self.options[page.label] if option != current]
        return rng.choice(choices or list(self.options[page.label]))


def _ws_sample(plan: Plan, page: PageUnderLoad, kind: str, sent: float, run: PageRun) -> Sample:
    return Sample(
        page.label, kind, "ws", sent - plan.started, run.seconds, run.ok, run.bytes_received
    )


def websocket_visitor(plan: Plan, client: int) -> None:
    """One WebSocket session: pages in turn from `client`'s, each opened then filtered."""
    rng = random.Random(plan.seed * 1000 + client)
    pages = PAGES
    if not plan.wait(rng, rng.uniform(0, plan.think_s)):  # arrivals spread over one think time
        return
    try:
        with plan.endpoint.visitor(client) as visitor:
            index = client % len(pages)
            while True:
                page = pages[index]
                sent = time.perf_counter()
                run = visitor.run(page.path)
                plan.record(_ws_sample(plan, page, OPEN, sent, run))
                box, current = page.selectbox(run), None
                for _ in range(plan.filters_per_page):
                    if not plan.wait(rng):
                        return
                    current = plan.pick(rng, page, current)
                    sent = time.perf_counter()
                    run = visitor.change(box, current, page.path)
                    plan.record(_ws_sample(plan, page, FILTER, sent, run))
                if not plan.wait(rng):
                    return
                index = (index + 1) % len(pages)
    except Exception as error:  # noqa: BLE001 — a refused or broken session is a result
        plan.failed(f"session {client} : {type(error).__name__}: {error}")


def _page_url(plan: Plan, page: PageUnderLoad) -> str:
    return f"{plan.endpoint.http_base}/{page.path}"


def _open_in_chromium(page, url: str) -> float:
    started = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_selector(SCRIPT_DONE, state="attached", timeout=TIMEOUT_MS)
    page.wait_for_function(PLOTS_DRAWN, timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def _pick_in_chromium(page, box: Selectbox, option: str) -> float:
    """Choose `option` in the selectbox labelled `box.label`, as a visitor types it."""
    page.evaluate(COUNT_RUNS)
    widget = page.locator('[data-testid="stSelectbox"]').filter(has_text=box.label).first
    started = time.perf_counter()
    widget.locator("input").click()
    page.keyboard.type(option)
    # The option itself in the filtered list (Enter would take the first match, which may be
    # another option beginning with the same words, or the one already shown: no rerun).
    page.get_by_role("option", name=option, exact=True).click(timeout=TIMEOUT_MS)
    page.wait_for_function(RERUN_DRAWN, timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def chromium_visitor(plan: Plan, client: int, boxes: dict[str, Selectbox]) -> None:
    """One Chromium page doing what a WebSocket session does; its own browser, in its thread
    (Playwright's sync API drives one browser per thread)."""
    from playwright.sync_api import sync_playwright

    rng = random.Random(plan.seed * 1000 + client)
    if not plan.wait(rng, rng.uniform(0, plan.think_s)):
        return
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *plan.endpoint.chromium_args]
            )
            try:
                context = browser.new_context(
                    viewport={"width": 1400, "height": 900}, ignore_https_errors=True
                )
                route = plan.endpoint.route(client)
                if route:
                    context.add_cookies(
                        [{"name": plan.endpoint.cookie_name, "value": route,
                          "url": plan.endpoint.http_base}]
                    )  # fmt: skip
                _browse(plan, client, context.new_page(), boxes, rng)
            finally:
                browser.close()
    except Exception as error:  # noqa: BLE001
        plan.failed(f"Chromium {client} : {type(error).__name__}: {str(error)[:300]}")


def _browse(plan: Plan, client: int, page, boxes: dict[str, Selectbox], rng) -> None:
    index = client % len(PAGES)
    while True:
        shown = PAGES[index]
        sent = time.perf_counter()
        seconds = _open_in_chromium(page, _page_url(plan, shown))
        plan.record(Sample(shown.label, OPEN, "chromium", sent - plan.started, seconds, True))
        current = boxes[shown.label].value  # what the page shows when opened by its URL
        for _ in range(plan.filters_per_page):
            if not plan.wait(rng):
                return
            current = plan.pick(rng, shown, current)
            sent = time.perf_counter()
            seconds = _pick_in_chromium(page, boxes[shown.label], current)
            plan.record(Sample(shown.label, FILTER, "chromium", sent - plan.started, seconds, True))
        if not plan.wait(rng):
            return
        index = (index + 1) % len(PAGES)
