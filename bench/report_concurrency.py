"""The concurrency benchmark as Markdown (a section of RESULTS.md, or its own file) and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_concurrency import P95_LIMIT_S, ConcurrencyResult, Level, SetupResult
from bench.concurrency_clients import PAGES
from bench.page_cpu import OUTSIDE_SCRIPT, PHASES, PageCpu


def table(header, rows, align: str = "") -> str:
    from bench.report import table as markdown_table

    return markdown_table(header, rows, align)


def seconds(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def _load(level: Level) -> str:
    return f"{level.load_before[0]:.1f} → {level.load_after[0]:.1f}"


def curve_table(setup: SetupResult) -> str:
    rows = []
    for level in setup.levels:
        chromium = level.timing(client="chromium")
        rows.append(
            (
                f"{level.sessions} ({level.browsers})",
                len(level.samples),
                f"{level.pages_per_s:.2f}",
                *(
                    f"{seconds(level.timing(p.label).p50)} / {seconds(level.timing(p.label).p95)}"
                    for p in PAGES
                ),
                f"{seconds(chromium.p50)} / {seconds(chromium.p95)}" if chromium.samples else "—",
                seconds(level.cpu_per_run_s),
                f"{level.server_cores_busy:.2f}",
                f"{level.machine_cores_busy:.2f}",
                f"{level.proxy_cpu_s:.1f}" if level.proxy_cpu_s else "—",
                f"{level.client_cpu_s:.1f}",
                f"{level.server_peak_rss_bytes / 1e6:,.0f}",
                _load(level),
                len(level.errors) + level.failed_runs,
            )
        )
    return table(
        (
            "sessions (Chromium)",
            "page runs",
            "pages/s",
            *(f"{p.label} p50 / p95 s" for p in PAGES),
            "Chromium p50 / p95 s",
            "server CPU s / page run",
            "server cores busy",
            "machine cores busy (all processes)",
            "nginx CPU s",
            "visitors' CPU s",
            "server peak RSS MB",
            "load avg (1 min)",
            "errors",
        ),
        rows,
    )


def knee_text(setup: SetupResult, think_s: float) -> str:
    knee = setup.knee
    if knee is None:
        return ""
    holds = f"holds up to {knee.holds_up_to} sessions" if knee.holds_up_to else "no level holds"
    breaks = (
        f", breaks at {knee.breaks_at} ({knee.reason})" if knee.breaks_at else f" ({knee.reason})"
    )
    return (
        f"**Knee, {setup.setup}**: {holds}{breaks}. From CPU alone (a machine nobody else uses): "
        f"{setup.cpu_per_run_s:.2f} s of server CPU per page run, one core per process (the GIL), "
        f"{setup.replicas} process(es) busy at 70 % ≈ {setup.quiet_sessions(think_s):.0f} sessions."
    )


def page_cpu_table(pages: list[PageCpu]) -> str:
    rows = []
    for p in pages:
        floor = p.query_floor_s
        rows.append(
            (
                p.page,
                f"{p.open_first_cpu_s:.2f} ({p.open_first_s:.2f})",
                f"{p.open_cached_cpu_s:.2f} ({p.open_cached_s:.2f})",
                f"{p.filter_new_cpu_s:.2f} ({p.filter_new_s:.2f})",
                f"{p.filter_cached_cpu_s:.2f} ({p.filter_cached_s:.2f})",
                f"{p.bytes_per_run / 1000:,.0f}",
                "n/a" if floor is None else f"{floor * 1000:.0f}",
                "n/a" if not floor else f"{p.open_first_cpu_s / floor:.0f}×",
                "n/a" if not floor else f"{p.cached_cpu_s / floor:.0f}×",
            )
        )
    return table(
        (
            "page",
            "first open: CPU s (wall s)",
            "open, all cached",
            "new filter value",
            "same value again (cached)",
            "kB sent per run",
            "its queries in DuckDB ms (floor)",
            "first open CPU / floor",
            "cached run CPU / floor",
        ),
        rows,
    )


def profile_table(pages: list[PageCpu]) -> str:
    profiled = [p for p in pages if p.profile]
    if not profiled:
        return ""
    phases = [phase for phase, _ in PHASES] + [OUTSIDE_SCRIPT]
    rows = []
    for phase in phases:
        shares = []
        for page in profiled:
            total = sum(page.profile.values())
            shares.append(f"{100 * page.profile.get(phase, 0) / total:.0f} %" if total else "n/a")
        rows.append((phase, *shares))
    rows.append(("samples (250 Hz)", *(f"{sum(p.profile.values()):,}" for p in profiled)))
    return (
        "Where a cached page run's server time goes (py-spy: samples of the thread holding the "
        "GIL, while one visitor opens the page and changes its filter among values already "
        "cached; DuckDB and Polars work done without the GIL is not sampled):\n\n"
        + table(("phase", *(p.page for p in profiled)), rows)
    )


def section(result: ConcurrencyResult, scale: str) -> str:
    s = result.settings
    parts = [
        f"## Concurrent visitors at {scale}\n\n"
        f"Each session opens a page, changes its filter every {s.think_s:g} s (±20 %), "
        f"{s.filters_per_page} times, then opens the next page (the overview, Besoins et lacunes, "
        f"the commune brief, in turn); its filter takes one of {s.options_per_filter} values per "
        f"page, every one already drawn once per replica before the levels (a server in service). "
        f"Levels of {s.level_s:g} s. Times are request → script finished for WebSocket sessions "
        f"(p50 / p95, s), navigation or option picked → last chart's SVG for Chromium. One "
        f"session in {s.browser_every} (at most {s.browsers}) is a real Chromium page. CPU: the server "
        f"processes' user + system time over the level, divided by the page runs served; the "
        f"visitors and Chromium run on the same machine. Target: p95 ≤ {P95_LIMIT_S:.0f} s at 25 "
        "sessions on every page. Knee: the last level where every page's p95 ≤ 2 s, the pages "
        "served per second reach 75 % of what the sessions ask for and nothing fails."
    ]
    for setup in result.setups:
        parts.append(
            f"### {setup.setup}\n\n" + curve_table(setup) + "\n\n" + knee_text(setup, s.think_s)
        )
    if result.page_cpu:
        parts.append(
            "### Server CPU per page run, one visitor at a time (fresh server)\n\n"
            "CPU s of the server process (wall s in brackets). Floor: the sum of the medians of "
            "the queries the page's default view runs, in plain DuckDB on the same file "
            "(bench_queries' *direct*).\n\n" + page_cpu_table(result.page_cpu)
        )
        profile = profile_table(result.page_cpu)
        if profile:
            parts.append(profile)
    if result.errors or any(level.errors for setup in result.setups for level in setup.levels):
        errors = result.errors + [
            f"{setup.setup}, {level.sessions} sessions: {error}"
            for setup in result.setups
            for level in setup.levels
            for error in level.errors[:3]
        ]
        parts.append("#### Errors\n\n" + "\n".join(f"- {error}" for error in errors))
    return "\n\n".join(parts)


def write_json(path: Path, result: ConcurrencyResult, machine: dict) -> None:
    from bench.report import _plain

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine, "concurrency": _plain(result)}, indent=1))
