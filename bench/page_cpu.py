"""Server CPU per page run, one visitor at a time, and where it goes (py-spy on the server).

For each page of the concurrency benchmark, one WebSocket session on a fresh server:
- opens it (the page's own queries run: its first visitor), then again (everything cached);
- changes its filter to values not seen before (their queries run), then to the same values again
  (cached: what every later visitor of those values costs).
The server's CPU (/proc/<pid>/stat) is read around each run. With py-spy installed and a profile
asked for, the server is then sampled while the cached runs repeat, and every sample is put in one
phase of the page run (queries, Plotly figure building, figure serialisation, tables, widgets…).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.concurrency_clients import PAGES, Endpoint, PageUnderLoad
from bench.concurrency_servers import cpu_of
from tests.streamlit_visitor import PageRun, Visitor

FIRST_PAGE = "tendances"  # the server's first run imports Plotly and the rest: charged to no page


@dataclass
class PageCpu:
    page: str
    open_first_cpu_s: float  # first open: the page's own queries run
    open_first_s: float
    open_cached_cpu_s: float  # the same view again, everything cached (mean)
    open_cached_s: float
    filter_new_cpu_s: float  # a filter value not seen before: its queries run (mean)
    filter_new_s: float
    filter_cached_cpu_s: float  # the same values again, cached (mean)
    filter_cached_s: float
    bytes_per_run: int
    query_floor_s: float | None = None  # its default view's queries, direct DuckDB (sum of p50)
    profile: dict[str, int] = field(default_factory=dict)  # phase → py-spy samples

    @property
    def cached_cpu_s(self) -> float:
        """CPU of a run whose queries are all cached (opens and filter changes together)."""
        return (self.open_cached_cpu_s + self.filter_cached_cpu_s) / 2


def _measured(endpoint: Endpoint, run: Callable[[], PageRun]) -> tuple[PageRun, float]:
    before = cpu_of(endpoint.server_pids)
    result = run()
    if not result.ok:
        raise RuntimeError(f"{result.page} : {result.exceptions or result.errors}")
    return result, cpu_of(endpoint.server_pids) - before


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def filter_options(run: PageRun, page: PageUnderLoad, count: int, seed: int) -> tuple[str, ...]:
    """`count` values of the page's filter, drawn at random, never the default view's."""
    box = page.selectbox(run)
    others = [option for option in box.options if option != box.value]
    return tuple(random.Random(seed).sample(others, min(count, len(others))))


def measure_page(
    visitor: Visitor, endpoint: Endpoint, page: PageUnderLoad, count: int, seed: int, runs: int
) -> tuple[tuple[str, ...], PageCpu]:
    """One page: first open, cached opens, new filter values, the same values again; also the
    `count` filter values the visitors will pick among (read from the first open)."""
    first, first_cpu = _measured(endpoint, lambda: visitor.run(page.path))
    options = filter_options(first, page, count, seed)
    cached = [_measured(endpoint, lambda: visitor.run(page.path)) for _ in range(runs)]
    box = page.selectbox(first)
    values = options[:runs]
    new = [_measured(endpoint, lambda v=v: visitor.change(box, v, page.path)) for v in values]
    again = [_measured(endpoint, lambda v=v: visitor.change(box, v, page.path)) for v in values]
    every = [first, *(r for r, _ in cached + new + again)]
    return options, PageCpu(
        page=page.label,
        open_first_cpu_s=first_cpu,
        open_first_s=first.seconds,
        open_cached_cpu_s=_mean([cpu for _, cpu in cached]),
        open_cached_s=_mean([r.seconds for r, _ in cached]),
        filter_new_cpu_s=_mean([cpu for _, cpu in new]),
        filter_new_s=_mean([r.seconds for r, _ in new]),
        filter_cached_cpu_s=_mean([cpu for _, cpu in again]),
        filter_cached_s=_mean([r.seconds for r, _ in again]),
        bytes_per_run=round(_mean([r.bytes_received for r in every])),
    )


def measure_pages(
    endpoint: Endpoint,
    count: int,
    seed: int,
    runs: int,
    profile_s: float = 0.0,
    out_dir: Path | None = None,
) -> tuple[dict[str, tuple[str, ...]], list[PageCpu]]:
    """Every page of PAGES measured on a server nobody else used yet (see the module docstring);
    also the `count` filter values of each page that the visitors will pick among."""
    options, results = {}, []
    with endpoint.visitor(0) as visitor:
        visitor.run(FIRST_PAGE)
        for page in PAGES:
            options[page.label], result = measure_page(visitor, endpoint, page, count, seed, runs)
            if profile_s > 0 and py_spy() and out_dir is not None:
                result.profile = profile_page(
                    visitor, endpoint, page, options[page.label], profile_s, out_dir
                )
            results.append(result)
    return options, results


# --- profile ------------------------------------------------------------------------------------------


def py_spy() -> str | None:
    """py-spy beside this Python (pip install py-spy), or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


# (phase, frame fragments): a sample belongs to the first phase, in this order, that has a frame
# containing one of its fragments anywhere in the stack: a query run under a cached function counts
# as a query, Plotly's JSON encoder called by st.plotly_chart as serialisation, a translation looked
# up while the HTML brief is built as a translation.
PHASES = (
    ("gc.collect(2) after every run (Streamlit's runner.postScriptGC)", ("ScriptRunner._on_script_finished",)),
    ("queries (data.run: Streamlit cache + DuckDB)", ("dashboard/data.py",)),
    ("translations: t() → current_language() → st.session_state", ("dashboard/i18n.py",)),
    ("HTML/PDF brief built on every run (brief_export)", ("dashboard/brief_export.py",)),
    ("st.plotly_chart: figure → JSON → message", ("streamlit/elements/plotly_chart.py",)),
    ("tables: st.dataframe / st.table → Arrow", ("streamlit/elements/arrow.py",
                                                 "streamlit/dataframe_util.py")),
    ("Plotly figure building", ("plotly/",)),
    ("other caches (st.cache_data: key, copy)", ("streamlit/runtime/caching/",)),
    ("widgets and session state", ("streamlit/elements/widgets/", "streamlit/runtime/state/")),
    ("Polars in pages and components", ("polars/",)),
    ("other Streamlit elements (text, metrics, columns)", ("streamlit/elements/",
                                                           "streamlit/delta_generator")),
    ("pages' and components' own Python", ("dashboard/",)),
    ("sending: WebSocket, protobuf (uvicorn, starlette)", ("uvicorn/", "starlette/", "websockets/",
                                                           "forward_msg", "app_session.py")),
)  # fmt: skip
OUTSIDE_SCRIPT = "other (script runner, event loop)"


def phase_of(stack: str) -> str:
    for phase, fragments in PHASES:
        if any(fragment in stack for fragment in fragments):
            return phase
    return OUTSIDE_SCRIPT


def read_collapsed(path: Path) -> Counter:
    """py-spy's raw output (one `frame;frame;… count` line per distinct stack) by phase."""
    phases: Counter = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            phases[phase_of(stack)] += int(count)
    return phases


@contextlib.contextmanager
def recording(pid: int, output: Path):
    """py-spy sampling `pid` until the block ends: 250 times a second, the thread holding the GIL
    (py-spy cannot tell a sleeping thread from a running one in this container; the GIL holder is
    the Python code running, and the GIL is what the sessions of one process queue for)."""
    command = [py_spy(), "record", "--pid", str(pid), "--rate", "250", "--gil", "--format", "raw"]
    process = subprocess.Popen(
        [*command, "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    time.sleep(1.0)  # attached before the first run
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def profile_page(
    visitor: Visitor,
    endpoint: Endpoint,
    page: PageUnderLoad,
    options: tuple[str, ...],
    seconds: float,
    out_dir: Path,
) -> dict[str, int]:
    """Samples of the server while the page is opened and filtered again and again (cached)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"py-spy-{page.filter_key}.txt"
    box = page.selectbox(visitor.run(page.path))
    stop = time.perf_counter() + seconds
    with recording(endpoint.server_pids[0], output):
        turn = 0
        while time.perf_counter() < stop:
            if turn % 3 == 0:
                visitor.run(page.path)
            else:
                visitor.change(box, options[turn % len(options)], page.path)
            turn += 1
    return dict(read_collapsed(output)) if output.exists() else {}
