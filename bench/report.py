"""The results as Markdown: targets first, then each section per scale (printed and written)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path

from bench import report_concurrency
from bench.run import SECTIONS, ScaleRun, Settings
from bench.targets import Check

MB = 1_000_000


def table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A Markdown table; `align` gives 'l' or 'r' per column (default: first left, others right)."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    if seconds != seconds:
        return "n/a"
    return f"{seconds * 1000:.1f}" if seconds < 0.1 else f"{seconds * 1000:.0f}"


def rate(value: float) -> str:
    return "n/a" if value != value else f"{value:,.0f}"


def targets_section(largest: ScaleRun | None, checks: list[Check]) -> str:
    if largest is None or not checks:
        return "## Targets\n\nNothing was measured."
    scale_note = (
        ""
        if largest.database.scale >= 30
        else f" (this run's largest scale is {largest.label}: the targets are set at 30×)"
    )
    rows = [
        (
            c.target.label,
            c.target.text(c.value),
            c.target.limit_text(),
            c.target.gap_text(c.value),
            c.detail,
        )
        for c in checks
    ]
    met = sum(c.met for c in checks)
    return (
        f"## Targets at {largest.label}{scale_note}\n\n"
        + table(("target", "measured", "limit", "status", "detail"), rows, "lrrll")
        + f"\n\n{met} of {len(checks)} targets met."
    )


def ratios_section(runs: list[ScaleRun]) -> str:
    """The machine-independent view: every ratio at every scale."""
    rows = []
    for run in runs:
        layer = (
            sum(q.cold.p50 for q in run.queries) / sum(q.direct.p50 for q in run.queries)
            if run.queries
            else float("nan")
        )
        warm = (
            sum(q.warm.p50 for q in run.queries) / sum(q.direct.p50 for q in run.queries)
            if run.queries
            else float("nan")
        )
        speedups = [q.speedup for q in run.pandas.questions] if run.pandas else []
        etl = run.load.duckdb_s / run.load.load_s if run.load else float("nan")
        rows.append(
            (
                run.label,
                f"{run.database.activity_rows:,}",
                f"{layer:.2f}×",
                f"{warm:.3f}×",
                f"{min(speedups):.0f}× – {max(speedups):.0f}×" if speedups else "n/a",
                f"{etl:.2f}",
            )
        )
    return "## Ratios\n\n" + table(
        (
            "scale",
            "activity rows",
            "data layer cold / direct DuckDB",
            "data layer warm / direct",
            "pandas / data layer (per question)",
            "load_files speed / read_csv speed",
        ),
        rows,
    )


def etl_section(runs: list[ScaleRun]) -> str:
    rows = []
    for run in runs:
        m = run.load
        if m is None:
            continue
        rows.append(
            (
                run.label,
                f"{m.rows:,}",
                f"{m.csv_bytes / MB:,.0f}",
                rate(m.rate(m.validate_s)),
                rate(m.rate(m.own_s)),
                f"{m.derived_s:.1f}",
                rate(m.rate(m.load_s)),
                rate(m.rate(m.duckdb_s)),
                f"{m.load_cpu_s:.1f} / {m.load_s:.1f}",
            )
        )
    if not rows:
        return ""
    return "## ETL: one member CSV of the demo's activity, loaded with validation\n\n" + table(
        (
            "scale",
            "rows",
            "CSV MB",
            "validate only rows/s",
            "read+validate+write rows/s",
            "aggregates + public file s",
            "load_files all in rows/s",
            "DuckDB read_csv rows/s",
            "CPU / wall s",
        ),
        rows,
    )


def disclosure_section(runs: list[ScaleRun]) -> str:
    rows = [
        (
            run.label,
            f"{d.cells:,}",
            f"{d.sensitive:,}",
            f"{d.withheld:,} ({d.share:.1%})",
            f"{d.persons_share:.1%} of {d.persons_communes:,}",
            f"{d.protection_s:.1f}",
            f"{d.audit_s:.1f}",
            str(d.breaches),
            f"{d.old_withheld:,} ({d.old_share:.1%})",
            f"{d.old_breaches:,} ({d.old_exact:,} exact)",
        )
        for run in runs
        if (d := run.disclosure) is not None
    ]
    if not rows:
        return ""
    return "## Disclosure control: protection and audit (etl/disclosure)\n\n" + table(
        (
            "scale",
            "counts",
            "1–4",
            "withheld",
            "persons, year × theme × commune, withheld",
            "protection s",
            "audit s",
            "breaches",
            "previous rule withheld",
            "previous rule breaches",
        ),
        rows,
    )


def queries_section(run: ScaleRun) -> str:
    if not run.queries:
        return ""
    rows = []
    for q in sorted(run.queries, key=lambda q: -q.cold.p95):
        rows.append(
            (
                f"{q.case.name}{' (admin)' if q.case.admin else ''}",
                q.case.params_text or "—",
                f"{q.rows:,}",
                ms(q.direct.p50),
                ms(q.cold.p50),
                ms(q.cold.p95),
                ms(q.warm.p50),
                f"{q.ratio:.2f}",
                ms(q.scan.p50) if q.scan else "—",
                f"{q.over_scan:.1f}" if q.scan else "—",
                q.scanned or "—",
                ", ".join(q.case.pages)[:60],
            )
        )
    scanned = [q for q in run.queries if q.scan]
    floor = (
        f" All of them together: {sum(q.direct.p50 for q in scanned) * 1000:.0f} ms in DuckDB "
        f"against {sum(q.scan.p50 for q in scanned) * 1000:.0f} ms to scan their columns "
        f"({sum(q.direct.p50 for q in scanned) / sum(q.scan.p50 for q in scanned):.1f}×)."
        if scanned
        else ""
    )
    return (
        f"### Queries at {run.label} (ms; {len(run.queries)} distinct queries)\n\n"
        "*scan*: the physical floor of *direct*, every column its plan reads scanned whole "
        "(`min()` of each; no filter, join or grouping); *direct/scan* below 1: its filters skip "
        f"row groups, or it reads small tables whose scan costs no more than a query's set-up.{floor}"
        "\n\n"
        + table(
            (
                "query",
                "parameters",
                "rows",
                "direct p50",
                "cold p50",
                "cold p95",
                "warm p50",
                "cold/direct",
                "scan p50",
                "direct/scan",
                "columns scanned",
                "pages",
            ),
            rows,
            "llrrrrrrrrll",
        )
    )


def pandas_section(run: ScaleRun) -> str:
    p = run.pandas
    if p is None:
        return ""
    rows = [
        (
            q.question.label,
            q.question.query,
            f"{ms(q.pandas.p50)} ({len(q.pandas.samples)})",
            ms(q.layer.p50),
            f"{q.speedup:.0f}×",
        )
        for q in p.questions
    ]
    return (
        f"### The pandas way at {run.label}\n\n"
        f"Raw tables loaded into pandas in {p.load_seconds:.1f} s ({p.activity_rows:,} activity "
        f"rows kept, {p.memory_bytes / MB:,.0f} MB of frames); each `st.cache_data` hit on that "
        f"frame would copy it back (unpickle: {p.cache_copy_seconds * 1000:,.0f} ms per rerun, not "
        "counted below).\n\n"
        + table(
            ("question", "page query", "pandas p50 ms", "data layer cold p50 ms", "speed-up"),
            rows,
            "llrrr",
        )
    )


def pages_section(run: ScaleRun) -> str:
    if not run.pages:
        return ""
    rows = [
        (
            p.visit.label,
            ms(p.cold.p50),
            ms(max(p.cold.samples)),
            ms(p.warm.p50),
            len({name for name, _ in p.queries + p.admin_queries}),
            p.error or "",
        )
        for p in run.pages
    ]
    return f"### Server-side render (AppTest) at {run.label}\n\n" + table(
        ("page", "cold p50 ms", "cold max ms", "warm p50 ms", "queries", "error"), rows, "lrrrrl"
    )


def browser_section(runs: list[ScaleRun]) -> str:
    rows = []
    for run in runs:
        b = run.browser
        if b is None:
            continue
        slowest = max(b.pages, key=b.pages.get) if b.pages else "—"
        rows.append(
            (
                run.label,
                f"{b.server_ready_s:.1f}",
                f"{b.cold_start_s:.1f}",
                f"{b.cold_start_cpu_s:.1f}",
                f"{b.map_first_s:.2f}",
                f"{b.map_warm.p50:.2f}" if b.map_warm.samples else "n/a",
                f"{slowest} {b.pages.get(slowest, float('nan')):.1f}" if b.pages else "n/a",
                f"{b.peak_rss_bytes / MB:,.0f}",
                len(b.page_errors),
            )
        )
    if not rows:
        return ""
    return "## Browser (streamlit run + Chromium)\n\n" + table(
        (
            "scale",
            "server up s",
            "cold start → first page drawn s",
            "server CPU s until then",
            "map drawn, first visit s",
            "map drawn, later p50 s",
            "slowest page s",
            "peak RSS MB",
            "JS errors",
        ),
        rows,
    )


def browser_pages_section(run: ScaleRun) -> str:
    """Every page in Chromium, first and warm visit, against the 1 s target (warm)."""
    b = run.browser
    if b is None or not b.pages_warm:
        return ""
    rows = [
        (
            path,
            f"{b.pages.get(path, float('nan')):.2f}",
            f"{warm:.2f}",
            "yes" if warm <= 1.0 else f"no, {warm - 1.0:.1f} s over",
            f"{b.pages_first_time.get(path, float('nan')):.2f}",
            f"{b.pages_in_app.get(path, float('nan')):.2f}",
        )
        for path, warm in b.pages_warm.items()
    ]
    return (
        f"### Every page in Chromium at {run.label} (s; navigation → script finished, no "
        "skeleton, every Plotly chart's SVG drawn)\n\n"
        "By URL: a new session, as a shared link opens it (the first visit after the server "
        "started, then warm: a returning visitor, the browser's cache holding the frontend). "
        "First-time visitor: by URL in a new browser context (empty cache). From the sidebar: "
        "the same session, no page load. Production Streamlit configuration "
        "(deploy/streamlit/config.toml).\n\n"
        + table(
            (
                "page",
                "by URL, first",
                "by URL, warm",
                "warm ≤ 1 s",
                "first-time visitor (empty cache)",
                "from the sidebar, warm",
            ),
            rows,
            "lrrlrr",
        )
    )


def sizes_section(runs: list[ScaleRun]) -> str:
    rows = [
        (
            run.label,
            f"{run.database.activity_rows:,}",
            f"{run.database.files} ({run.database.method})",
            f"{run.sizes['raw'] / MB:,.1f}",
            f"{run.sizes['public'] / MB:,.1f}",
            f"{run.database.built_seconds:,.0f}",
        )
        for run in runs
    ]
    return "## Databases\n\n" + table(
        (
            "scale",
            "activity rows",
            "member files",
            "raw file MB",
            "public file MB",
            "demo build s (once, cached)",
        ),
        rows,
    )


def machine_section(machine: dict, settings: Settings, started: dt.datetime, seconds: float) -> str:
    lines = [f"- {key}: {value}" for key, value in machine.items()]
    return (
        "## Machine and run\n\n"
        + "\n".join(lines)
        + f"\n- run: {started:%Y-%m-%d %H:%M}, {seconds / 60:.1f} min, scales "
        + ", ".join(f"{s:g}×" for s in settings.scales)
        + f", repetitions: queries {settings.query_repeat} rounds at the largest scale "
        f"({max(1, settings.query_repeat // 2)} below), pages {settings.page_repeat}, "
        f"pandas {settings.pandas_repeat} within 2 s a question, map {settings.map_repeat} "
        "(pages and map halved below the largest scale; cold start: median of 3 there)"
    )


def durations_section(runs: list[ScaleRun]) -> str:
    """How long each section took (what to trim when the whole run grows past 10 minutes)."""
    names = sorted({name for run in runs for name in run.seconds}, key=list(SECTIONS).index)
    rows = [(run.label, *[f"{run.seconds.get(n, 0):.0f}" for n in names]) for run in runs]
    return "### Duration of each section (s)\n\n" + table(("scale", *names), rows)


def errors_section(runs: list[ScaleRun]) -> str:
    errors = [error for run in runs for error in run.errors]
    if not errors:
        return ""
    return "## Errors\n\n" + "\n".join(f"- {error}" for error in errors)


def summary(largest, checks: list[Check], runs: list[ScaleRun]) -> str:
    """What the console shows at the end (and RESULTS.md starts with)."""
    parts = [targets_section(largest, checks), ratios_section(runs), errors_section(runs)]
    return "\n\n".join(part for part in parts if part)


def details(runs: list[ScaleRun]) -> str:
    parts = [
        etl_section(runs),
        disclosure_section(runs),
        browser_section(runs),
        sizes_section(runs),
        durations_section(runs),
    ]
    for run in runs:
        parts += [queries_section(run), pandas_section(run), pages_section(run)]
        parts += [browser_pages_section(run)]
        if run.concurrency:
            parts.append(report_concurrency.section(run.concurrency, run.label))
    return "\n\n".join(part for part in parts if part)


def _plain(value: object) -> object:
    if is_dataclass(value):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if callable(value):
        return getattr(value, "__name__", str(value))
    return value


def write_json(path: Path, machine: dict, runs: list[ScaleRun], checks: list[Check]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": machine,
        "checks": [
            {
                "target": c.target.key,
                "value": c.value,
                "limit": c.target.limit,
                "met": c.met,
                "detail": c.detail,
            }
            for c in checks
        ],
        "runs": [_plain(run) for run in runs],
    }
    path.write_text(json.dumps(payload, indent=1, default=str))
