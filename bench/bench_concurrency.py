"""Many visitors at once: concurrency curves on one server and on two replicas behind nginx.

    python -m bench.bench_concurrency --echelle 30 --sessions 1,5,10,25,50
        [--reflexion 10] [--palier 60] [--navigateurs 2] [--montages 1,2] [--profil 20]

For each set-up (one `streamlit run`; nginx + two replicas as in deploy/) and each number of
sessions, that many visitors use the dashboard for one level's time: each opens a page (the
overview, Besoins et lacunes, the commune brief, in turn), changes its filter every `think` seconds,
twice, then opens the next page. A few of them (one in five, at most `--navigateurs`) are real
Chromium pages, the rest WebSocket sessions (tests/streamlit_visitor.py). Reported per level and
page: p50/p95 of request → script finished, pages per second, server CPU per page run (the server
processes' /proc/<pid>/stat before and after), the machine's load; per set-up, the knee of the curve.
Before the levels, on a fresh server, each page's CPU per run one visitor at a time (bench/page_cpu.py)
and, with --profil, where it goes.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import page_cpu
from bench.bench_browser import peak_rss
from bench.concurrency_clients import (
    PAGES,
    Endpoint,
    Plan,
    Sample,
    chromium_visitor,
    websocket_visitor,
)
from bench.concurrency_servers import SETUPS, cpu_of, machine_cpu, started
from bench.machine import load_average
from bench.timing import Timing

P95_LIMIT_S = 2.0  # the target: 25 sessions with p95 ≤ 2 s on every page measured
THROUGHPUT_FLOOR = 0.75  # a level serves at least this share of what its visitors ask for
DRAIN_S = 300  # after the level's time, runs already asked for may finish within this


@dataclass(frozen=True)
class ConcurrencySettings:
    sessions: tuple[int, ...] = (1, 5, 10, 25, 50)
    setups: tuple[str, ...] = SETUPS
    think_s: float = 10.0
    level_s: float = 60.0
    filters_per_page: int = 2
    options_per_filter: int = 6
    browsers: int = 2  # Chromium pages among the sessions, at most
    browser_every: int = 5  # one Chromium page per this many sessions
    cpu_runs: int = 4  # per-page CPU: cached opens, new and cached filter values measured
    profile_s: float = 0.0  # py-spy on the server, per page (0: no profile)
    seed: int = 7

    def browsers_at(self, sessions: int) -> int:
        return min(self.browsers, sessions // self.browser_every)


@dataclass
class Level:
    sessions: int
    browsers: int
    wall_s: float  # the level's start → the last reply
    samples: list[Sample]
    server_cpu_s: float
    proxy_cpu_s: float
    client_cpu_s: float  # this process: the WebSocket visitors (Chromium's own CPU is not in it)
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    errors: list[str] = field(default_factory=list)
    server_peak_rss_bytes: int = 0  # VmHWM of the server processes so far, summed
    machine_busy_s: float = float("nan")  # CPU seconds the whole machine used (every process)
    elapsed_s: float = float("nan")  # the level's start → every visitor done (CPU read then)

    @property
    def machine_cores_busy(self) -> float:
        return self.machine_busy_s / self.elapsed_s

    @property
    def server_cores_busy(self) -> float:
        return self.server_cpu_s / self.elapsed_s

    def runs(self, page: str | None = None, client: str = "ws") -> list[Sample]:
        return [
            s
            for s in self.samples
            if s.client == client and (page is None or s.page == page) and s.ok
        ]

    def timing(self, page: str | None = None, client: str = "ws") -> Timing:
        return Timing(tuple(s.seconds for s in self.runs(page, client)))

    @property
    def failed_runs(self) -> int:
        return sum(not s.ok for s in self.samples)

    @property
    def pages_per_s(self) -> float:
        return len(self.samples) / self.wall_s if self.wall_s else float("nan")

    @property
    def cpu_per_run_s(self) -> float:
        return self.server_cpu_s / len(self.samples) if self.samples else float("nan")

    @property
    def worst_p95_s(self) -> float:
        """The highest p95 of the pages (WebSocket sessions)."""
        values = [self.timing(page.label).p95 for page in PAGES if self.runs(page.label)]
        return max(values) if values else float("nan")


@dataclass(frozen=True)
class Knee:
    holds_up_to: int | None  # the most sessions served within the limits
    breaks_at: int | None  # the first level that is not (None: none broke)
    reason: str


@dataclass
class SetupResult:
    setup: str
    replicas: int = 1
    levels: list[Level] = field(default_factory=list)
    knee: Knee | None = None

    @property
    def cpu_per_run_s(self) -> float:
        """The median over the levels of the server CPU per page run."""
        values = sorted(level.cpu_per_run_s for level in self.levels if level.samples)
        return values[len(values) // 2] if values else float("nan")

    def quiet_sessions(self, think_s: float, utilisation: float = 0.7) -> float:
        """Sessions the replicas could serve with their own cores at `utilisation`: each process
        runs its pages' Python on one core at a time (the GIL), a session asks for a page every
        think time plus the page's CPU. An estimate for a machine nobody else uses."""
        cpu = self.cpu_per_run_s
        return utilisation * self.replicas * (think_s + cpu) / cpu

    def level(self, sessions: int) -> Level | None:
        return next((level for level in self.levels if level.sessions == sessions), None)


@dataclass
class ConcurrencyResult:
    settings: ConcurrencySettings
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    page_cpu: list[page_cpu.PageCpu] = field(default_factory=list)
    setups: list[SetupResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def expected_rate(level: Level, think_s: float, single_run_s: float) -> float:
    """Pages per second the level's visitors ask for when every run takes `single_run_s`."""
    return level.sessions / (think_s + single_run_s)


def level_problems(level: Level, think_s: float, single_run_s: float) -> list[str]:
    """Why a level does not hold: a page's p95 over 2 s, the throughput short of what the
    sessions ask for (< 75 %), a session or a page run that failed."""
    reasons = []
    if level.worst_p95_s > P95_LIMIT_S:
        reasons.append(f"p95 {level.worst_p95_s:.1f} s > {P95_LIMIT_S:.0f} s")
    share = level.pages_per_s / expected_rate(level, think_s, single_run_s)
    if share < THROUGHPUT_FLOOR:
        reasons.append(f"throughput {share:.0%} of what the sessions ask for")
    if level.errors or level.failed_runs:
        reasons.append(f"{len(level.errors) + level.failed_runs} failed session(s) or page run(s)")
    return reasons


def find_knee(levels: list[Level], think_s: float) -> Knee:
    """Where the curve breaks for good: the levels from `breaks_at` up all fail (see
    `level_problems`), `holds_up_to` is the one below them. A lower level that failed alone (a
    p95 read from a dozen runs is their maximum, on a shared machine) is named beside it."""
    if not levels:
        return Knee(None, None, "no level measured")
    single = levels[0].timing().p50
    judged = [(level.sessions, level_problems(level, think_s, single)) for level in levels]
    top = len(judged)
    while top > 0 and judged[top - 1][1]:
        top -= 1
    holds = judged[top - 1][0] if top > 0 else None
    breaks = judged[top] if top < len(judged) else None
    reason = "; ".join(breaks[1]) if breaks else "every level holds"
    isolated = [f"{sessions} ({'; '.join(problems)})" for sessions, problems in judged[:top]
                if problems]  # fmt: skip
    if isolated:
        reason += f"; below it, also over at {', '.join(isolated)}"
    return Knee(holds, breaks[0] if breaks else None, reason)


def run_level(
    endpoint: Endpoint, settings: ConcurrencySettings, sessions: int, options, boxes
) -> Level:
    """`sessions` visitors for `settings.level_s` seconds; CPU and load read around them."""
    browsers = settings.browsers_at(sessions)
    start = time.perf_counter()
    plan = Plan(
        endpoint, options, settings.think_s, settings.filters_per_page,
        started=start, stop_at=start + settings.level_s, seed=settings.seed + sessions,
    )  # fmt: skip
    threads = [
        threading.Thread(target=websocket_visitor, args=(plan, client), daemon=True)
        for client in range(sessions - browsers)
    ] + [
        threading.Thread(target=chromium_visitor, args=(plan, client, boxes), daemon=True)
        for client in range(sessions - browsers, sessions)
    ]
    load_before, server_before = load_average(), cpu_of(endpoint.server_pids)
    machine_before = machine_cpu()[0]
    proxy_before, client_before = cpu_of(endpoint.proxy_pids), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, plan.stop_at + DRAIN_S - time.perf_counter()))
    if any(thread.is_alive() for thread in threads):
        plan.failed("des visiteurs attendaient encore une réponse à la fin du délai")
    samples = list(plan.samples)
    last = max((s.started + s.seconds for s in samples), default=settings.level_s)
    return Level(
        sessions=sessions,
        browsers=browsers,
        wall_s=max(last, settings.level_s),
        samples=samples,
        server_cpu_s=cpu_of(endpoint.server_pids) - server_before,
        proxy_cpu_s=cpu_of(endpoint.proxy_pids) - proxy_before,
        client_cpu_s=time.process_time() - client_before,
        load_before=load_before,
        load_after=load_average(),
        errors=list(plan.errors),
        server_peak_rss_bytes=sum(peak_rss(pid) for pid in endpoint.server_pids),
        machine_busy_s=machine_cpu()[0] - machine_before,
        elapsed_s=time.perf_counter() - start,
    )


def warm_up(endpoint: Endpoint, options: dict[str, tuple[str, ...]], replicas: int) -> dict:
    """Each replica draws every page and every filter value once (imports, query caches): the
    levels measure a server in service. Returns each page's selectbox (for Chromium)."""
    boxes = {}
    for client in range(replicas):
        with endpoint.visitor(client) as visitor:
            for page in PAGES:
                box = page.selectbox(visitor.run(page.path))
                boxes[page.label] = box
                for option in options[page.label]:
                    visitor.change(box, option, page.path)
    return boxes


def measure_setup(
    setup: str, db_path: Path, settings: ConcurrencySettings, result: ConcurrencyResult,
    out_dir: Path, progress=print,
) -> SetupResult:  # fmt: skip
    outcome = SetupResult(setup)
    with started(setup, db_path, out_dir / f"serveurs-{len(result.setups)}") as endpoint:
        outcome.replicas = len(endpoint.server_pids)
        if not result.page_cpu:  # on the first set-up's fresh server
            progress(
                "    CPU par page, un visiteur à la fois" + " + profil" * (settings.profile_s > 0)
            )
            result.options, result.page_cpu = page_cpu.measure_pages(
                endpoint, settings.options_per_filter, settings.seed, settings.cpu_runs,
                settings.profile_s, out_dir / "profil",
            )  # fmt: skip
        boxes = warm_up(endpoint, result.options, max(1, len(endpoint.routes)))
        for sessions in settings.sessions:
            level = run_level(endpoint, settings, sessions, result.options, boxes)
            outcome.levels.append(level)
            progress(
                f"    {setup}, {sessions:>3} sessions ({level.browsers} Chromium) : "
                f"{len(level.samples)} pages, {level.pages_per_s:.2f}/s, p50 "
                f"{level.timing().p50:.2f} s, p95 max {level.worst_p95_s:.2f} s, CPU/page "
                f"{level.cpu_per_run_s:.2f} s, charge {level.load_before[0]:.1f}→"
                f"{level.load_after[0]:.1f}"
                + (f", {len(level.errors)} erreur(s)" * bool(level.errors))
            )
    outcome.knee = find_knee(outcome.levels, settings.think_s)
    return outcome


def measure_concurrency(
    db_path: Path, settings: ConcurrencySettings, out_dir: Path, progress=print
) -> ConcurrencyResult:
    """Every set-up at every level on the database `db_path` (its public file beside it)."""
    result = ConcurrencyResult(settings)
    for setup in settings.setups:
        try:
            result.setups.append(measure_setup(setup, db_path, settings, result, out_dir, progress))
        except Exception as error:  # noqa: BLE001 — the other set-up is still measured
            result.errors.append(f"{setup} : {type(error).__name__}: {error}")
            progress(f"    ERREUR {setup} : {error}")
    return result


# --- the floor of a page's CPU: its queries in plain DuckDB -------------------------------------------


def floors_from(queries) -> dict[str, float]:
    """Each measured page's default-view queries, direct DuckDB, summed medians (by page label)."""
    visits = {page.visit: page.label for page in PAGES}
    floors: dict[str, float] = {}
    for query in queries:
        for visit in query.case.pages:
            if visit in visits:
                floors[visits[visit]] = floors.get(visits[visit], 0.0) + query.direct.p50
    return floors


def measure_floors(database, rounds: int = 5) -> dict[str, float]:
    """The pages' default views in AppTest (queries recorded), those queries timed directly."""
    from bench import bench_pages, bench_queries
    from bench.run import database_env

    wanted = {page.visit for page in PAGES}
    with database_env(database.raw):
        visits = [bench_pages.visit_page(v, 1) for v in bench_pages.VISITS if v.label in wanted]
        cases = bench_queries.distinct_cases(visits)
        queries = bench_queries.measure_cases(cases, database.raw, database.public, rounds)
    return floors_from(queries)


def attach_floors(result: ConcurrencyResult, floors: dict[str, float]) -> None:
    for page in result.page_cpu:
        page.query_floor_s = floors.get(page.page)


# --- alone: python -m bench.bench_concurrency ---------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_concurrency",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--echelle", type=float, default=30.0, help="échelle de la démo (30)")
    parser.add_argument("--annees", default="2015-2025", help="années de la démo (2015-2025)")
    parser.add_argument("--sessions", default="1,5,10,25,50", help="paliers de sessions")
    parser.add_argument("--montages", default="1,2", help="1 = un serveur, 2 = nginx + 2 réplicas")
    parser.add_argument("--reflexion", type=float, default=10.0, help="secondes entre deux pages")
    parser.add_argument("--palier", type=float, default=60.0, help="durée d'un palier (s)")
    parser.add_argument("--navigateurs", type=int, default=2, help="pages Chromium au plus")
    parser.add_argument(
        "--un-navigateur-sur", type=int, default=5, help="une page Chromium par N sessions"
    )
    parser.add_argument("--profil", type=float, default=0.0, help="py-spy, secondes par page")
    parser.add_argument("--sortie", type=Path, default=None, help="dossier de travail et cache")
    parser.add_argument(
        "--resultats", type=Path, default=None,
        help="fichier Markdown (défaut : <sortie>/RESULTS-concurrence-x<échelle>.md ; JSON à côté)",
    )  # fmt: skip
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> ConcurrencySettings:
    setups = tuple(SETUPS[int(n) - 1] for n in args.montages.split(",") if n.strip())
    return ConcurrencySettings(
        sessions=tuple(int(n) for n in args.sessions.split(",") if n.strip()),
        setups=setups,
        think_s=args.reflexion,
        level_s=args.palier,
        browsers=args.navigateurs,
        browser_every=args.un_navigateur_sur,
        profile_s=args.profil,
    )


def main(argv: list[str] | None = None) -> int:
    from bench import report_concurrency
    from bench.databases import OUT_DIR, demo_database
    from bench.machine import machine_details

    args = parse_args(argv)
    out_dir = args.sortie or OUT_DIR
    first, last = (int(y) for y in args.annees.split("-"))
    settings = settings_from(args)
    machine = machine_details()
    print(f"Concurrence — {machine['cores']} cœurs, charge {machine['load_average']}", flush=True)
    database = demo_database(args.echelle, years=(first, last), out_dir=out_dir)
    print("  requêtes des trois pages en DuckDB direct (plancher)", flush=True)
    floors = measure_floors(database)
    result = measure_concurrency(database.raw, settings, out_dir / "concurrence", progress=print)
    attach_floors(result, floors)
    machine["load_average_at_end"] = load_average()
    path = args.resultats or out_dir / f"RESULTS-concurrence-x{args.echelle:g}.md"
    json_path = path.with_suffix(".json") if args.resultats else None
    # The measurements first: a report that fails to render loses nothing.
    report_concurrency.write_json(
        json_path or out_dir / f"concurrence-x{args.echelle:g}.json", result, machine
    )
    text = (
        report_concurrency.section(result, f"{args.echelle:g}×")
        + "\n\n"
        + "\n".join(f"- {key}: {value}" for key, value in machine.items())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print("\n" + text + f"\n\nRésultats écrits dans {path}.", flush=True)
    failed = result.errors or any(level.errors for one in result.setups for level in one.levels)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
