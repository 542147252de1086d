"""What the quarterly bulletin says, read from the PUBLIC file only, with the pages' own queries (so
its figures are the pages' figures): key figures of the quarter, changes by theme, the signals with
their field observations, the field alerts beside the numbers, under-served communes.

`run` is any `run(query_name, **params)` on the public file: `etl.exports.public_runner` from the
command line and the Administration page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from dashboard.components import needs
from dashboard.components import signals_text as words
from etl.analysis import funnel
from etl.analysis.signals import SIGNAL
from etl.errors import UserError
from etl.vocabulary import ALL, CANTON, QUARTER

Runner = Callable[..., pl.DataFrame]
HISTORY_QUARTERS = 12  # the canton's persons served over the last three years (first chart)
UNDER_SERVED_ROWS = 12


@dataclass(frozen=True)
class Bulletin:
    period: int  # quarter number, year × 4 + quarter − 1
    lang: str
    version: str
    published_at: dt.datetime
    has_demo: bool
    canton: (
        pl.DataFrame
    )  # query trends by quarter: persons served, all themes, canton, every quarter
    unmet: (
        dict | None
    )  # query trends by quarter, row: unmet requests, all themes, canton, the quarter
    themes: pl.DataFrame  # query trends by quarter, rows of the quarter, one per theme, canton
    assessed: dict  # signals_quarters row of the quarter
    assessments: pl.DataFrame  # signals_list rows of the quarter (every series)
    field: pl.DataFrame  # signals_field_observations of the quarter
    under_served: pl.DataFrame
    under_served_year: int | None

    @property
    def year(self) -> int:
        return self.period // 4

    @property
    def quarter(self) -> int:
        return self.period % 4 + 1

    @property
    def code(self) -> str:
        return words.period_code(self.period)

    @property
    def signals(self) -> pl.DataFrame:
        return self.assessments.filter(pl.col("status") == SIGNAL)

    @property
    def current(self) -> dict | None:
        """The canton's persons served this quarter (a row of the query trends by quarter)."""
        rows = self.canton.filter(
            (pl.col("year") == self.year) & (pl.col("quarter") == self.quarter)
        )
        return rows.row(0, named=True) if rows.height else None


def available_periods(run: Runner) -> list[int]:
    """The quarters whose every series was assessed (newest first): those a bulletin can cover."""
    return run("signals_quarters")["period"].to_list()


def choose_period(run: Runner, code: str | None) -> int:
    """The quarter asked for ('2025-T2'), or the latest; a French error when there is none."""
    periods = available_periods(run)
    if not periods:
        raise UserError(
            "La base publique ne contient aucun trimestre évalué : il faut des données "
            "trimestrielles publiées (voir docs/ADMIN.md, « Bulletin trimestriel »)."
        )
    if code is None:
        return periods[0]
    parsed = words.parse_quarter_code(code.strip().upper().replace("Q", "T"))
    period = words.period_of(*parsed) if parsed else None
    if period not in periods:
        known = ", ".join(words.period_code(p) for p in periods)
        raise UserError(
            f"--periode « {code} » : attendu un trimestre publié, écrit AAAA-Tn ; "
            f"la base publique couvre : {known}."
        )
    return period


def under_served_communes(run: Runner, year: int) -> pl.DataFrame:
    """Theme × commune pairs under-served in `year`, as the Besoins et lacunes page lists them: the
    gap flags the public file publishes (funnel-plot limits with overdispersion, etl/analysis/
    funnel.py), beyond 99.8 % first, then 95 %, lowest ratio first.

    The one place the bulletin asks « which communes are under-served »: a change of method is made
    here (or in `needs.under_served`), not in the bulletin's layout.
    """
    themes = run("ref_themes")
    frames = []
    for theme in themes["code"].to_list():
        gaps = needs.under_served(
            needs.commune_gaps(run("needs_commune_theme", theme=theme, year=year))
        )
        if gaps.height:
            frames.append(gaps.with_columns(theme=pl.lit(theme)))
    if not frames:
        return pl.DataFrame()
    order = pl.col("gap_flag").replace_strict(funnel.FLAG_ORDER, default=len(funnel.FLAG_ORDER))
    return (
        pl.concat(frames, how="diagonal_relaxed")
        .join(themes.rename({"code": "theme"}), on="theme", how="left")
        .sort(order, "gap_ratio", "name")
        .head(UNDER_SERVED_ROWS)
    )


def under_served_year(status: dict, year: int) -> int | None:
    """The bulletin's year if complete, else the latest complete year (annual figures)."""
    latest = status["latest_complete_year"]
    return None if latest is None else min(year, latest)


def load_bulletin(run: Runner, period: int, lang: str) -> Bulletin:
    year, quarter = period // 4, period % 4 + 1
    release = run("export_release").row(0, named=True)
    status = run("database_status").row(0, named=True)
    theme_codes = run("ref_themes")["code"].to_list()

    def quarterly(metric: str, themes: list[str]) -> pl.DataFrame:
        return run(
            "trends",
            step=QUARTER,
            metric=metric,
            themes=themes,
            lieux=[CANTON],
            categories=[ALL],
        )

    this_quarter = (pl.col("year") == year) & (pl.col("quarter") == quarter)
    unmet = quarterly("demandes_non_satisfaites", [ALL]).filter(this_quarter)
    assessed = run("signals_quarters").filter(pl.col("period") == period)
    target_year = under_served_year(status, year)
    return Bulletin(
        period=period,
        lang=lang,
        version=release["version"],
        published_at=release["published_at"],
        has_demo=bool(status["has_demo"]),
        canton=quarterly("personnes", [ALL]),
        unmet=unmet.row(0, named=True) if unmet.height else None,
        themes=quarterly("personnes", theme_codes)
        .filter(this_quarter)
        .join(run("ref_themes").rename({"code": "theme"}), on="theme", how="left")
        .sort("sort_order"),
        assessed=assessed.row(0, named=True),
        assessments=run("signals_list", period=period, themes=[], lieux=[], statuses=[]),
        field=run("signals_field_observations", period=period),
        under_served=under_served_communes(run, target_year) if target_year else pl.DataFrame(),
        under_served_year=target_year,
    )


def field_agreements(bulletin: Bulletin) -> list[tuple[dict, words.Agreement]]:
    """Each field observation of the quarter with what the numbers say (as on Remontées)."""
    lookup = {
        (row["period"], row["theme"], row["lieu"]): row
        for row in bulletin.assessments.iter_rows(named=True)
    }
    return [
        (row, words.agreement(row, lookup, bulletin.period, bulletin.lang))
        for row in bulletin.field.iter_rows(named=True)
    ]
