"""`make bench` = `python -m bench`: every benchmark at 1×, 10× and 30× the demo volume.

    python -m bench [--echelles 1,10,30] [--sections etl,pages,queries,pandas,browser,concurrency]
                    [--repetitions N] [--resultats FILE] [--sessions 1,5,10,25,50] [--palier 60]

Prints the targets (met, or the gap named), the ratios and every measurement, and writes them to
bench/RESULTS.md (full run) or bench/out/RESULTS-<scales>.md, with bench/out/results.json. Demo
databases are cached under bench/out/db/ (see bench/databases.py): the first run builds them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from bench import bench_signals, report
from bench.bench_concurrency import ConcurrencySettings
from bench.databases import OUT_DIR
from bench.machine import load_average, machine_details
from bench.run import SECTIONS, Settings, check_targets, run_scale

DEFAULT_SCALES = (1.0, 10.0, 30.0)
RESULTS = Path(__file__).with_name("RESULTS.md")
# Sections measured by other commands (bench_concurrency, bench_small_load, page_profile…) and
# written up by hand: a full run rewrites the file around them.
KEPT = ("<!-- kept:start -->", "<!-- kept:end -->")

NOTES = """## How to read this

- **Demo databases** are built through the front door (`etl.demo.build_demo`, the code behind
  `observatoire demo --echelle X`: members' Excel/CSV files written, then loaded by `load_files`).
  Generating 30× that way takes far longer than the benchmark itself, so each scale's database is
  built once and cached under `bench/out/db/demo-<generator version>-<years>/` (gitignored); the
  version hashes the generator's code and data and the base schema. Aggregates and the public file
  are rebuilt whenever their code changes, so they are always current.
- **ETL**: the scale's activity rows written back as one member CSV (communes as OFS numbers) and
  loaded with `load_files` (read, validate, write, aggregates, disclosure control, public file,
  atomic publish) into a database with the same members; beside DuckDB's `read_csv` of the same
  file into a table (no validation).
- **Queries**: every (query, parameters) the pages ran in AppTest, recorded from
  `dashboard.data.run`. *direct*: the same SQL and parameters on a plain read-only DuckDB
  connection, `.pl()`; *cold*: `data.run` with Streamlit's data cache cleared before each call;
  *warm*: `data.run` answered from the cache. The three are alternated in each round so that the
  machine's load drifts equally on all of them.
- **The pandas way**: the raw tables `select *` into pandas once (kept in memory: the generous
  case), the same questions filtered and grouped in Python, each answer checked against the
  database's aggregates before it is timed, beside `data.run` cold.
- **Pages**: AppTest, every Streamlit cache cleared before the cold render; warm = a rerun.
- **Browser**: `streamlit run` started after Chromium; cold start = process start → first page
  drawn (script finished, every Plotly chart has its svg); the map page is drawn when its 45
  `path.choroplethlocation` exist. Peak memory is VmHWM of the server process after every page.
- **Every page in Chromium**: by URL (a new session, as a shared link opens it), first visit and
  warm (second visit: the target, ≤ 1 s), then from the sidebar in the same session (no page load).
- **Concurrent visitors** (largest scale only): see the section's own notes and bench/README.md;
  CPU seconds per page run travel between loads far better than latencies.
- Percentiles interpolate between samples; with few repetitions p95 is close to the maximum.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--echelles",
        default=",".join(f"{s:g}" for s in DEFAULT_SCALES),
        help="échelles de la démo, séparées par des virgules (défaut 1,10,30)",
    )
    parser.add_argument(
        "--annees", default="2015-2025", help="années de la démo (défaut 2015-2025)"
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"parmi {','.join(SECTIONS)} (défaut : toutes)",
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        default=None,
        help="répétitions (défaut : 24 tours de requêtes à la plus grande échelle, 15 aux autres, "
        "5 pandas, 2 visites AppTest et 2 de la carte (1 aux autres échelles))",
    )
    parser.add_argument(
        "--resultats",
        type=Path,
        default=None,
        help="fichier Markdown des résultats (défaut : bench/RESULTS.md pour 1,10,30)",
    )
    parser.add_argument("--sortie", type=Path, default=OUT_DIR, help="dossier de travail et cache")
    parser.add_argument(
        "--sessions",
        default="1,5,10,25,50",
        help="section concurrency : paliers de sessions simultanées (défaut 1,5,10,25,50)",
    )
    parser.add_argument(
        "--palier", type=float, default=60.0, help="section concurrency : durée d'un palier (s)"
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    scales = tuple(float(s) for s in args.echelles.split(",") if s.strip())
    first, last = (int(y) for y in args.annees.split("-"))
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = set(sections) - set(SECTIONS)
    if unknown or not scales:
        raise SystemExit(f"Sections inconnues {sorted(unknown)} ou aucune échelle.")
    n = args.repetitions
    return Settings(
        scales=scales,
        years=(first, last),
        sections=sections,
        query_repeat=n or 24,
        page_repeat=n or 2,
        pandas_repeat=n or 5,
        map_repeat=n or 2,
        cold_starts=min(n, 3) if n else 3,
        out_dir=args.sortie,
        concurrency=ConcurrencySettings(
            sessions=tuple(int(x) for x in args.sessions.split(",") if x.strip()),
            level_s=args.palier,
        ),
    )


def results_path(args: argparse.Namespace, settings: Settings) -> Path:
    if args.resultats:
        return args.resultats
    if settings.scales == DEFAULT_SCALES and settings.sections == SECTIONS:
        return RESULTS
    return settings.out_dir / f"RESULTS-{'-'.join(f'{s:g}' for s in settings.scales)}.md"


def main(argv: list[str] | None = None) -> int:
    import streamlit.logger

    streamlit.logger.set_log_level(
        "error"
    )  # bare-mode warnings: the data layer runs without a server
    args = parse_args(argv)
    settings = settings_from(args)
    started_at, started = dt.datetime.now(), time.perf_counter()
    machine = machine_details()
    print(
        f"Banc d'essai — {machine['cpu']}, {machine['cores']} cœurs, {machine['ram_gib']} Gio, "
        f"charge {machine['load_average']}",
        flush=True,
    )
    runs = []
    for scale in settings.scales:
        print(f"\n== échelle {scale:g}× ==", flush=True)
        runs.append(run_scale(scale, settings))
    largest, checks = check_targets(runs)
    seconds = time.perf_counter() - started
    # Other work on a shared machine changes every number: say how busy it was at the end too.
    machine["load_average_at_end"] = load_average()
    summary = report.summary(largest, checks, runs)
    details = report.details(runs)
    machine_text = report.machine_section(machine, settings, started_at, seconds)
    print("\n" + summary + "\n\n" + details + "\n\n" + machine_text, flush=True)
    path = results_path(args, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The signals' section is written by `python -m bench.bench_signals` (not timed), and the
    # sections between the KEPT markers by hand from other benches (#19's phases): kept as they are.
    signals_section = bench_signals.current_section(path)
    kept_section = bench_signals.current_section(path, *KEPT)
    path.write_text(
        "# Benchmark results\n\nGenerated by `make bench` (`python -m bench`); every number below "
        "comes from the run described at the end.\n\n"
        + summary
        + "\n\n"
        + NOTES
        + "\n"
        + details
        + "\n\n"
        + machine_text
        + "\n"
        + (f"\n{kept_section}\n" if kept_section else "")
        + (f"\n{signals_section}\n" if signals_section else "")
    )
    report.write_json(settings.out_dir / "results.json", machine, runs, checks)
    print(f"\nRésultats écrits dans {path} ({seconds / 60:.1f} min).", flush=True)
    return 1 if any(run.errors for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
