"""One benchmark run: every section at every scale, the targets checked at the largest scale."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import (
    bench_browser,
    bench_concurrency,
    bench_disclosure,
    bench_etl,
    bench_pages,
    bench_pandas,
    bench_queries,
)
from bench.bench_load import LoadMeasurement
from bench.databases import DemoDatabase, demo_database, file_sizes, scale_label
from bench.targets import CONCURRENT_SESSIONS, CPU_PER_RUN_BEFORE, Check, evaluate

SECTIONS = ("etl", "disclosure", "pages", "queries", "pandas", "browser", "concurrency")


@dataclass(frozen=True)
class Settings:
    scales: tuple[float, ...]
    years: tuple[int, int]
    sections: tuple[str, ...]
    query_repeat: int  # rounds per query at the largest scale (direct, cold, warm alternated)
    page_repeat: int  # AppTest visits per page (each: one cold, one warm render)
    pandas_repeat: int
    map_repeat: int  # later visits of the map page in Chromium
    cold_starts: int  # servers started at the largest scale (the cold start is their median)
    out_dir: Path
    # many visitors at once: at the largest scale only (about 15 minutes at 30×)
    concurrency: bench_concurrency.ConcurrencySettings = bench_concurrency.ConcurrencySettings()


@dataclass
class ScaleRun:
    database: DemoDatabase
    sizes: dict[str, int]
    load: LoadMeasurement | None = None
    disclosure: bench_disclosure.DisclosureResult | None = None
    pages: list[bench_pages.PageResult] = field(default_factory=list)
    queries: list[bench_queries.QueryResult] = field(default_factory=list)
    pandas: bench_pandas.PandasResult | None = None
    browser: bench_browser.BrowserResult | None = None
    concurrency: bench_concurrency.ConcurrencyResult | None = None
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each section

    @property
    def label(self) -> str:
        return scale_label(self.database.scale)


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send this process's stderr (DuckDB's progress bars, Streamlit's bare-mode warnings) to a
    file while a section runs, so the console shows the benchmark's own lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def database_env(path: Path) -> Iterator[None]:
    """$OBSERVATOIRE_DB names `path` for the dashboard's data module while the block runs."""
    previous = os.environ.get("OBSERVATOIRE_DB")
    os.environ["OBSERVATOIRE_DB"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("OBSERVATOIRE_DB", None)
        else:
            os.environ["OBSERVATOIRE_DB"] = previous


def _section(run: ScaleRun, name: str, work: Callable[[], None], log: Path) -> None:
    """Run one section; an exception is recorded (and printed) without stopping the others."""
    started = time.perf_counter()
    try:
        with stderr_to(log):
            work()
    except Exception as exc:  # noqa: BLE001 — reported in the results, the run goes on
        message = f"{run.label} {name}: {type(exc).__name__}: {exc}"
        run.errors.append(message)
        print(f"  ERREUR {message}", flush=True)
        with open(log, "a") as handle:
            traceback.print_exc(file=handle)
    finally:
        run.seconds[name] = round(time.perf_counter() - started, 1)
        gc.collect()


def run_scale(scale: float, settings: Settings, progress=print) -> ScaleRun:
    log = settings.out_dir / "logs" / f"x{scale:g}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    with stderr_to(log):
        database = demo_database(
            scale, years=settings.years, out_dir=settings.out_dir, progress=progress
        )
    run = ScaleRun(database, file_sizes(database))
    progress(
        f"  base {run.label} : {database.activity_rows:,} lignes d'activité, "
        f"{database.files} fichiers ({'cache' if database.cached else 'construite maintenant'})"
    )
    sections = settings.sections
    # The targets are read at the largest scale: every repetition there, about half elsewhere
    # (the whole run stays under ten minutes on the 2-core reference machine).
    largest = scale == max(settings.scales)

    if "etl" in sections:
        progress("  ETL : activité réécrite en un CSV de membre, rechargée par load_files")

        def etl() -> None:
            run.load = bench_etl.measure_demo_load(
                database.raw,
                settings.out_dir / "scratch" / f"x{scale:g}",
                # validating alone once more costs a minute at 30×: the smallest scale shows it
                validate_alone=scale == min(settings.scales),
            )
            load = run.load
            progress(
                f"    {load.rows:,} lignes : lecture + validation + écriture "
                f"{load.rate(load.own_s):,.0f} lignes/s, tout compris {load.rate(load.load_s):,.0f} "
                f"lignes/s ; DuckDB read_csv {load.rate(load.duckdb_s):,.0f} lignes/s"
            )

        _section(run, "etl", etl, log)

    if "disclosure" in sections:
        progress("  contrôle de divulgation : protection, audit, et l'ancienne règle attaquée")

        def disclosure() -> None:
            run.disclosure = bench_disclosure.measure_disclosure(database.raw)
            d = run.disclosure
            progress(
                f"    {d.withheld:,} cellules masquées sur {d.cells:,} ({d.share:.1%}), protection "
                f"{d.protection_s:.1f} s, audit {d.audit_s:.1f} s, {d.breaches} brèche(s) ; "
                f"personnes par commune, année et thématique : {d.persons_share:.1%} masquées ; "
                f"ancienne règle : {d.old_breaches:,} brèches dont {d.old_exact:,} exactes"
            )

        _section(run, "disclosure", disclosure, log)

    with database_env(database.raw):
        if {"pages", "queries", "pandas"} & set(sections):
            progress("  pages (AppTest) : rendu côté serveur, requêtes enregistrées")

            def pages() -> None:
                repeat = settings.page_repeat if largest else max(1, settings.page_repeat // 2)
                run.pages = bench_pages.visit_all(repeat, progress=progress)
                for page in run.pages:
                    if page.error:
                        run.errors.append(f"{run.label} page {page.visit.label}: {page.error}")

            _section(run, "pages", pages, log)
        cases = bench_queries.distinct_cases(run.pages)
        if "queries" in sections and cases:
            progress(f"  requêtes : {len(cases)} requêtes distinctes des pages")

            def queries() -> None:
                # The targets are read at the largest scale: enough rounds there for a p95 that
                # one stray spike of a shared machine does not make; fewer elsewhere.
                rounds = settings.query_repeat if largest else max(1, settings.query_repeat // 2)
                run.queries = bench_queries.measure_cases(
                    cases, database.raw_file, database.public, rounds
                )

            _section(run, "queries", queries, log)
        if "pandas" in sections and cases:
            progress("  la manière pandas : tables brutes en mémoire, filtrées et groupées")

            def pandas() -> None:
                run.pandas = bench_pandas.measure_questions(
                    database.raw, cases, settings.pandas_repeat, progress=progress
                )

            _section(run, "pandas", pandas, log)
    if "browser" in sections:
        progress("  navigateur : streamlit run + Chromium")

        def browser() -> None:
            run.browser = bench_browser.measure_browser(
                database.raw,
                settings.out_dir / "logs",
                settings.map_repeat if largest else max(1, settings.map_repeat // 2),
                # the target's scale: the median of several starts, each a new server
                cold_starts=settings.cold_starts if largest else 1,
            )
            progress(
                f"    démarrage à froid {run.browser.cold_start_s:.1f} s, carte "
                f"{run.browser.map_first_s:.1f} s, mémoire max "
                f"{run.browser.peak_rss_bytes / 1e6:,.0f} Mo"
            )
            if run.browser.page_errors:
                run.errors.append(f"{run.label} navigateur: {run.browser.page_errors[:3]}")

        _section(run, "browser", browser, log)
    if "concurrency" in sections and largest:
        progress("  visiteurs simultanés : un serveur, puis nginx + deux réplicas")
        _section(run, "concurrency", lambda: _concurrency(run, settings, progress), log)
    return run


def _concurrency(run: ScaleRun, settings: Settings, progress) -> None:
    database = run.database
    floors = (
        bench_concurrency.floors_from(run.queries)
        if run.queries
        else bench_concurrency.measure_floors(database)
    )
    run.concurrency = bench_concurrency.measure_concurrency(
        database.raw, settings.concurrency, settings.out_dir / "concurrence", progress
    )
    bench_concurrency.attach_floors(run.concurrency, floors)
    run.errors += [f"{run.label} concurrence: {error}" for error in run.concurrency.errors]


# --- the targets, read from the largest scale ------------------------------------------------------


def target_measures(run: ScaleRun) -> dict[str, tuple[float, str]]:
    measures: dict[str, tuple[float, str]] = {}
    if run.queries:
        direct = sum(q.direct.p50 for q in run.queries)
        cold = sum(q.cold.p50 for q in run.queries)
        worst_ratio = max(run.queries, key=lambda q: q.ratio)
        measures["layer_ratio"] = (
            cold / direct,
            f"sum of medians over {len(run.queries)} queries; highest single: "
            f"{worst_ratio.case.name} {worst_ratio.ratio:.2f}× "
            f"({worst_ratio.cold.p50 * 1000:.1f} vs {worst_ratio.direct.p50 * 1000:.1f} ms)",
        )
        slowest = max(run.queries, key=lambda q: q.cold.p95)
        measures["query_p95"] = (
            slowest.cold.p95,
            f"{slowest.case.name} {slowest.case.params_text}".strip(),
        )
    if run.pandas and run.pandas.questions:
        weakest = min(run.pandas.questions, key=lambda q: q.speedup)
        measures["pandas_speedup"] = (
            weakest.speedup,
            f"{weakest.question.label} ({weakest.pandas.p50 * 1000:.0f} vs "
            f"{weakest.layer.p50 * 1000:.1f} ms)",
        )
    if run.load:
        load = run.load
        measures["etl_rate"] = (
            load.rate(load.own_s),
            f"{load.rows:,} rows in one CSV, {load.own_s:.1f} s; DuckDB read_csv into a table "
            f"{load.rate(load.duckdb_s):,.0f} rows/s",
        )
        measures["etl_rate_all_in"] = (
            load.rate(load.load_s),
            f"{load.load_s:.1f} s, of which aggregates + public file + publish {load.derived_s:.1f} s "
            "(rebuilt for the whole database at every load)",
        )
    if run.browser:
        measures["peak_memory"] = (
            float(run.browser.peak_rss_bytes),
            f"streamlit run, {len(run.browser.pages)} pages visited",
        )
        measures["cold_start"] = (
            run.browser.cold_start_s,
            f"median of {len(run.browser.cold_starts)} "
            f"({', '.join(f'{s:.1f}' for s in run.browser.cold_starts)} s): server up "
            f"{run.browser.server_ready_s:.1f} s, then first page {run.browser.first_page_s:.1f} s; "
            f"server CPU {run.browser.cold_start_cpu_s:.1f} s",
        )
    if run.browser and run.browser.pages_warm:
        warm = run.browser.pages_warm
        slowest = max(warm, key=warm.get)
        over = [f"{path} {seconds:.1f} s" for path, seconds in warm.items() if seconds > 1.0]
        measures["browser_page_warm"] = (
            warm[slowest],
            f"{slowest}; over 1 s: {', '.join(over) or 'none'}",
        )
    if run.concurrency:
        measures.update(concurrency_measures(run.concurrency))
    return measures


def concurrency_measures(result: bench_concurrency.ConcurrencyResult) -> dict:
    measures = {}
    for key, setup_name in zip(
        ("concurrency_one", "concurrency_two"), bench_concurrency.SETUPS, strict=True
    ):
        setup = next((s for s in result.setups if s.setup == setup_name), None)
        level = setup.level(CONCURRENT_SESSIONS) if setup else None
        if level is None:
            continue
        pages = ", ".join(
            f"{page.label} {level.timing(page.label).p95:.1f} s" for page in bench_concurrency.PAGES
        )
        knee = setup.knee
        measures[key] = (
            level.worst_p95_s,
            f"{pages}; load avg {level.load_before[0]:.1f}→{level.load_after[0]:.1f}; knee: "
            f"holds up to {knee.holds_up_to}, breaks at {knee.breaks_at}",
        )
    ratios = {
        page.page: page.cached_cpu_s / CPU_PER_RUN_BEFORE[page.page]
        for page in result.page_cpu
        if page.page in CPU_PER_RUN_BEFORE
    }
    if ratios:
        worst = max(ratios, key=ratios.get)
        measures["page_cpu_ratio"] = (
            ratios[worst],
            ", ".join(
                f"{page.page} {page.cached_cpu_s:.2f} s (before {CPU_PER_RUN_BEFORE[page.page]:.2f})"
                for page in result.page_cpu
                if page.page in CPU_PER_RUN_BEFORE
            ),
        )
    return measures


def check_targets(runs: list[ScaleRun]) -> tuple[ScaleRun | None, list[Check]]:
    """The checks at the largest scale measured (the targets are set at 30×)."""
    if not runs:
        return None, []
    largest = max(runs, key=lambda run: run.database.scale)
    return largest, evaluate(target_measures(largest))
