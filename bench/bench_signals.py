"""How well the signals find the demo's injected rises, and how often they raise false alarms.

    python -m bench.bench_signals --graine 11 --regler     # tuning: a grid of levels, seed 11
    python -m bench.bench_signals                          # report: the rule as set, seed 42

Not a test and not timed: the demo (2015–2025, scale 1) is built for the seed (cached under
bench/out/signals/), every quarter with enough history is assessed as if it were the latest one
(backtest, from the published quarterly cube, exactly as a publish does) and each assessment is
classified against what the generator knows:

- **injected rise**: a (theme, commune, quarter) of `etl.demo.parameters.RISES`. Its theme in its
  commune is not a published quarterly series (disclosure control): the rise is in two published
  series, its commune all themes together and its theme in the canton, and it is found when either
  raises a signal; sensitivity is the share of rises found;
- **documented event**: the theme's real events (COVID-19, Ukraine, inflation…) put the quarter's
  demand at least 5 % above its baseline's median, in every commune: a signal there is true. For a
  commune's all-themes series, the themes' factors are weighted by each theme's share of the
  canton's persons over the years;
- **reporting change**: more members report the cell than in any of the four quarters before (a
  member joined or switched to quarterly reports): a real rise in the published numbers, whose
  meaning the page states beside the signal;
- **other**: everything else; a signal there is a false alarm.

The rule is tuned on seed 11 (`--regler`) and reported on seed 42 (`--rapport`, the default), which
writes its section into bench/RESULTS.md between the `signals` markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from bench.databases import OUT_DIR, generator_version
from bench.machine import load_average
from etl.analysis import signals
from etl.demo.activity import _event_factor
from etl.demo.parameters import RISES, THEMES
from etl.public import public_path

YEARS = (2015, 2025)
RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- signals:start -->", "<!-- signals:end -->"
EVENT_MARGIN = 1.05
ALPHAS = (0.02, 0.01, 0.005, 0.0025, 0.001)
MIN_COUNTS = (5, 10, 20)
MIN_HISTORIES = (12, 16)
MAX_FALSE_ALARM_RATE = 0.01  # of the ordinary assessments, over the whole backtest


def demo_for(seed: int, out_dir: Path = OUT_DIR, scale: float = 1.0) -> Path:
    """The demo of `seed` at `scale` (built once per generator version)."""
    from etl.demo import build_demo

    suffix = "" if scale == 1.0 else f"-echelle-{scale:g}"
    folder = out_dir / "signals" / f"demo-{generator_version()}-graine-{seed}{suffix}"
    raw = folder / "observatoire.duckdb"
    if not raw.exists():
        print(f"Démo graine {seed} : construction (environ une minute)…", flush=True)
        build_demo(raw, seed=seed, years=YEARS, scale=scale, out_dir=folder / "fichiers")
    return raw


def published_cube(raw: Path) -> pl.DataFrame:
    con = duckdb.connect(str(public_path(raw)), read_only=True)
    try:
        return con.sql("select * from public.activity_quarter_cube").pl()
    finally:
        con.close()


def backtest(cube: pl.DataFrame, rule: signals.SignalRule) -> pl.DataFrame:
    """Every quarter with enough history to be assessed, each as the latest one."""
    series = signals.published_series(cube)
    first = int(series["period"].min()) + rule.min_history
    last = int(series["period"].max())
    return signals.compute_signals(cube, assessed=list(range(first, last + 1)), rule=rule)


def theme_factors() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The quarters (period numbers) from five years before the demo, and each theme's quarterly
    event factor (the mean of its months')."""
    months = np.arange(YEARS[0] * 12 - 60, (YEARS[1] + 1) * 12)
    periods = np.arange(months[0] // 3, months[-1] // 3 + 1)
    factors = {}
    for theme in THEMES.values():
        monthly = np.array([_event_factor(theme.events, int(m), 1.0) for m in months])
        factors[theme.code] = monthly.reshape(-1, 3).mean(axis=1)
    return periods, factors


def _lifted(periods: np.ndarray, factor: np.ndarray, theme: str) -> list[tuple]:
    """The quarters whose factor is EVENT_MARGIN above its 20 quarters' median."""
    return [
        (theme, int(periods[i] // 4), int(periods[i] % 4 + 1))
        for i in range(20, factor.size)
        if factor[i] >= EVENT_MARGIN * np.median(factor[i - 20 : i])
    ]


def event_quarters(cube: pl.DataFrame) -> pl.DataFrame:
    """theme, year, quarter where documented events lift demand above the baseline's median; theme
    '*' (a commune's all-themes series) where the themes' factors, weighted by their shares of the
    canton's published persons, do."""
    periods, factors = theme_factors()
    rows = [row for code, factor in factors.items() for row in _lifted(periods, factor, code)]
    shares = (
        cube.filter(
            (pl.col("lieu") == signals.CANTON)
            & (pl.col("category") == "*")
            & pl.col("theme").is_in(list(factors))
        )
        .group_by("theme")
        .agg(pl.col(signals.MEASURE).sum())
    )
    total = shares[signals.MEASURE].sum()
    if total:
        weighted = sum(factors[code] * persons / total for code, persons in shares.iter_rows())
        rows += _lifted(periods, weighted, "*")
    return pl.DataFrame(rows, schema=["theme", "year", "quarter"], orient="row").with_columns(
        pl.col("year", "quarter").cast(pl.Int32), event=pl.lit(True)
    )


def reporting_changes(cube: pl.DataFrame) -> pl.DataFrame:
    """theme, lieu, year, quarter where the cell has more members than in the 4 quarters before."""
    cells = (
        cube.filter(pl.col("category") == "*")
        .select(
            "theme",
            "lieu",
            signals.period_number(pl.col("year"), pl.col("quarter")).alias("period"),
            "n_members",
        )
        .sort("theme", "lieu", "period")
    )
    return (
        cells.with_columns(
            before=pl.col("n_members").shift(1).rolling_max(4).over("theme", "lieu"),
        )
        .filter(pl.col("n_members") > pl.col("before"))
        .select(
            "theme",
            "lieu",
            (pl.col("period") // 4).cast(pl.Int32).alias("year"),
            (pl.col("period") % 4 + 1).cast(pl.Int32).alias("quarter"),
            reporting=pl.lit(True),
        )
    )


def injected() -> pl.DataFrame:
    """The published series each rise is in: its commune all themes, its theme in the canton."""
    rows = []
    for index, rise in enumerate(RISES):
        year, quarter = int(rise.quarter[:4]), int(rise.quarter[-1])
        for theme, lieu in signals.observation_series(rise.theme, rise.ofs_number):
            rows.append((index, theme, lieu, year, quarter, rise.factor))
    return pl.DataFrame(
        rows, schema=["rise", "theme", "lieu", "year", "quarter", "factor"], orient="row"
    ).with_columns(pl.col("year", "quarter").cast(pl.Int32))


def classify(assessments: pl.DataFrame, cube: pl.DataFrame) -> pl.DataFrame:
    """Each assessment with its class (injected, event, reporting, other), the rise it holds (if
    any) and the published count it was assessed on."""
    series = signals.published_series(cube).select(
        "theme", "lieu", "period", pl.col("value").alias("observed")
    )
    # Two rises in one series and quarter would count once: the demo has none.
    rises = injected().unique(["theme", "lieu", "year", "quarter"])
    return (
        assessments.with_columns(
            signals.period_number(pl.col("year"), pl.col("quarter")).alias("period")
        )
        .join(series, on=["theme", "lieu", "period"], how="left")
        .join(rises, on=["theme", "lieu", "year", "quarter"], how="left")
        .join(event_quarters(cube), on=["theme", "year", "quarter"], how="left")
        .join(reporting_changes(cube), on=["theme", "lieu", "year", "quarter"], how="left")
        .with_columns(
            pl.when(pl.col("factor").is_not_null())
            .then(pl.lit("injected"))
            .when(pl.col("event"))
            .then(pl.lit("event"))
            .when(pl.col("reporting"))
            .then(pl.lit("reporting"))
            .otherwise(pl.lit("other"))
            .alias("truth")
        )
    )


def with_rule(classified: pl.DataFrame, min_count: int, min_history: int) -> pl.Series:
    """Whether each assessment (made with min_count 0 and the lowest min_history) signals under a
    higher minimum count or history: both only filter, the model and its limit do not change."""
    return classified.select(
        (
            (pl.col("status") == signals.SIGNAL)
            & (pl.col("observed") >= min_count)
            & (pl.col("n_periods") >= min_history)
        ).alias("raised")
    )["raised"]


def scores(classified: pl.DataFrame, raised: pl.Series) -> dict:
    frame = classified.with_columns(raised=raised)
    assessed = frame.filter(pl.col("status").is_in([signals.SIGNAL, signals.EXPECTED]))
    # A rise is assessed when one of its series is, found when one of them raises a signal.
    rises = (
        frame.filter(pl.col("truth") == "injected")
        .group_by("rise")
        .agg(
            pl.col("status").is_in([signals.SIGNAL, signals.EXPECTED]).any().alias("assessed"),
            pl.col("raised").any().alias("found"),
        )
    )
    ordinary = assessed.filter(pl.col("truth") == "other")
    return {
        "rises": len(RISES),
        "rises_assessed": int(rises["assessed"].sum()),
        "rises_found": int(rises["found"].sum()),
        "ordinary": ordinary.height,
        "false_alarms": int(ordinary["raised"].sum()),
    }


def tune(seed: int) -> str:
    """The grid of levels, minimum counts and histories on `seed`; the rule kept is the most
    sensitive whose false alarms stay under MAX_FALSE_ALARM_RATE of the ordinary assessments."""
    cube = published_cube(demo_for(seed))
    lines = [
        f"Réglage sur la graine {seed} :",
        "| alpha | min. count | min. history | rises found | false alarms | rate |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    best = None
    for alpha in ALPHAS:
        loose = signals.SignalRule(alpha=alpha, min_count=0, min_history=min(MIN_HISTORIES))
        classified = classify(backtest(cube, loose), cube)
        for min_count in MIN_COUNTS:
            for min_history in MIN_HISTORIES:
                result = scores(classified, with_rule(classified, min_count, min_history))
                rate = result["false_alarms"] / max(result["ordinary"], 1)
                lines.append(
                    f"| {alpha} | {min_count} | {min_history} | {result['rises_found']}/"
                    f"{result['rises_assessed']} | {result['false_alarms']} | {rate:.2%} |"
                )
                key = (result["rises_found"], -rate)
                if rate <= MAX_FALSE_ALARM_RATE and (best is None or key > best[0]):
                    best = (key, (alpha, min_count, min_history))
    lines.append(f"Règle retenue (alpha, min. count, min. history) : {best[1] if best else '–'}")
    return "\n".join(lines)


def _number(value: float | None, digits: int = 0) -> str:
    return "–" if value is None or np.isnan(value) else f"{value:,.{digits}f}"


def rises_table(classified: pl.DataFrame) -> list[str]:
    lines = [
        "| rise (theme, commune, quarter, size) | series | status | published count | expected "
        "| upper limit |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    by_key = {
        (row["theme"], row["lieu"], row["year"], row["quarter"]): row
        for row in classified.filter(pl.col("truth") == "injected").iter_rows(named=True)
    }
    for rise in RISES:
        year, quarter = int(rise.quarter[:4]), int(rise.quarter[-1])
        for theme, lieu in signals.observation_series(rise.theme, rise.ofs_number):
            row = by_key.get((theme, lieu, year, quarter))
            status = row["status"] if row else "not assessed"
            series = "commune, all themes" if theme == "*" else "theme, canton"
            lines.append(
                f"| {rise.theme}, {rise.commune}, {rise.quarter}, ×{rise.factor} | {series} "
                f"| {status} | {_number(row and row['observed'])} "
                f"| {_number(row and row['expected'], 1)} "
                f"| {_number(row and row['upper_limit'], 1)} |"
            )
    return lines


def quarters_table(classified: pl.DataFrame) -> list[str]:
    assessed = classified.filter(pl.col("status").is_in([signals.SIGNAL, signals.EXPECTED]))
    per_quarter = (
        assessed.with_columns(signal=pl.col("status") == signals.SIGNAL)
        .group_by("year", "quarter")
        .agg(
            pl.len().alias("assessed"),
            pl.col("signal").sum().alias("signals"),
            *[
                (pl.col("signal") & (pl.col("truth") == truth)).sum().alias(truth)
                for truth in ("injected", "event", "reporting", "other")
            ],
            (pl.col("truth") == "other").sum().alias("ordinary"),
        )
        .sort("year", "quarter")
    )
    lines = [
        "| quarter | assessed | signals | injected | documented events | reporting changes "
        "| false alarms | false-alarm rate |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in per_quarter.iter_rows(named=True):
        rate = row["other"] / row["ordinary"] if row["ordinary"] else 0.0
        lines.append(
            f"| {row['year']}-T{row['quarter']} | {row['assessed']} | {row['signals']} "
            f"| {row['injected']} | {row['event']} | {row['reporting']} "
            f"| {row['other']} | {rate:.1%} |"
        )
    return lines


def report(seed: int, scale: float = 1.0) -> str:
    rule = signals.RULE
    cube = published_cube(demo_for(seed, scale=scale))
    started = time.perf_counter()
    signals.compute_signals(cube)
    publish_seconds = time.perf_counter() - started
    classified = classify(backtest(cube, rule), cube)
    result = scores(classified, classified["status"] == signals.SIGNAL)
    rate = result["false_alarms"] / max(result["ordinary"], 1)
    quarters = max(classified["period"].n_unique(), 1)
    per_quarter = result["false_alarms"] / quarters
    assessed = classified["status"].is_in([signals.SIGNAL, signals.EXPECTED]).sum()
    assessed_per_quarter = assessed / quarters
    withheld = int((classified["status"] == signals.WITHHELD).sum())
    short = int((classified["status"] == signals.SHORT_HISTORY).sum())
    settings = ", ".join(f"{k} = {v}" for k, v in dataclasses.asdict(rule).items())
    return "\n".join(
        [
            START,
            "## Signals: injected rises found and false alarms (python -m bench.bench_signals)",
            "",
            f"Demo seed {seed} (the rule was tuned on seed 11), years {YEARS[0]}–{YEARS[1]}, scale {scale:g}; "
            f"every quarter with enough history assessed as the latest one. Rule: {settings}.",
            "",
            "Series: the published quarterly crossings of the protected public cube (after "
            "disclosure control), all members: each commune all themes together (crossing Q1) and "
            "each theme in the canton (crossing Q2). A rise (one theme in one commune) is in two of "
            "them, diluted by the rest of each, and is found when either raises a signal.",
            "",
            f"- **Sensitivity**: {result['rises_found']} of {result['rises_assessed']} injected rises "
            f"raised ({result['rises']} injected).",
            f"- **False alarms**: {result['false_alarms']} of {result['ordinary']} ordinary "
            f"assessments ({rate:.2%}): {per_quarter:.1f} a quarter, where about "
            f"{assessed_per_quarter:.0f} series are assessed.",
            f"- **Not assessed**: {withheld} series × quarters whose count is withheld (no "
            f"signal, no number), {short} with fewer than {rule.min_history} published quarters "
            f"of history, of {classified.height}.",
            f"- A publish assesses the latest {signals.STORED_QUARTERS} quarters: "
            f"{publish_seconds:.1f} s here ({os.cpu_count()} cores, load average "
            f"{load_average()[0]} at the end).",
            "",
            *rises_table(classified),
            "",
            *quarters_table(classified),
            END,
        ]
    )


def current_section(path: Path = RESULTS, start: str = START, end: str = END) -> str:
    """The section of RESULTS.md between two markers (the signals' by default), markers included,
    for `python -m bench` to keep when it rewrites the file; "" when there is none."""
    current = path.read_text() if path.exists() else ""
    if start not in current or end not in current:
        return ""
    return start + current.split(start, 1)[1].split(end, 1)[0] + end


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace the signals section of RESULTS.md (kept by `python -m bench` when it rewrites)."""
    current = path.read_text() if path.exists() else ""
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1]
        path.write_text(before + text + after)
    else:
        path.write_text(current.rstrip() + "\n\n" + text + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_signals")
    parser.add_argument("--graine", type=int, default=42)
    parser.add_argument("--echelle", type=float, default=1.0, help="échelle de la démo (1)")
    parser.add_argument("--regler", action="store_true", help="grille de réglage (graine 11)")
    args = parser.parse_args(argv)
    if args.regler:
        print(tune(args.graine))
        return
    text = report(args.graine, args.echelle)
    print(text)
    write_section(text)
    (OUT_DIR / "signals").mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "signals" / "last_report.json").write_text(json.dumps({"seed": args.graine}))


if __name__ == "__main__":
    main()
