"""Disclosure control of the activity cubes (DESIGN §6): which crossings are published, their
protection, then an audit that plays the attacker. `protect_activity_cubes` is what the publish
calls (etl/public.py).

- crossings.py: the four crossings published (and what pages must say of the others);
- cube.py: both cubes as one dense model, unpublished detail included as unknowns;
- facts.py: what the other public tables tell the attacker; relations.py: every relation;
- moves.py, search.py, steps.py: witnesses (moves that prove a withheld cell safe);
- programme.py: the year's linear programmes (the method's last resort, the audit's attacker);
- method.py: the method (primary, then secondary by witnesses); audit.py: the attacker;
- greedy.py: the rule used before, kept for comparison (tests, bench).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.disclosure.audit import AuditReport, audit_release
from etl.disclosure.crossings import published_cube
from etl.disclosure.cube import (
    CATEGORY,
    CUBE_KEYS,
    LIEU,
    MEASURE,
    MEASURES,
    SMALLEST_PUBLISHED_COUNT,
    THEME,
    YEAR_PERIOD,
    Cube,
    Q,
    Y,
    build_cube,
    cell_index,
    row_keys,
)
from etl.disclosure.facts import QUARTER_CUBE, YEAR_CUBE, knowledge_from_tables
from etl.disclosure.method import SUPPRESSED_SUFFIX, protect, restore_cube, suppressed_flag
from etl.disclosure.relations import build_groups
from etl.errors import UserError

CUBE_MEASURES = MEASURES
WHOLE_YEAR = YEAR_PERIOD  # the quarter of a year-cube cell when both cubes are handled together

__all__ = [
    "CUBE_KEYS",
    "CUBE_MEASURES",
    "QUARTER_CUBE",
    "SMALLEST_PUBLISHED_COUNT",
    "WHOLE_YEAR",
    "YEAR_CUBE",
    "DisclosureSummary",
    "protect_activity_cubes",
    "suppressed_flag",
]


@dataclass(frozen=True)
class DisclosureSummary:
    """Figures of one publish's disclosure control (bench, docs, release notes)."""

    cells: int  # reported counts in the published crossings
    sensitive: int  # of which 1–4
    withheld: int  # withheld in all (primary and secondary)
    headline_withheld: int  # canton headline figures withheld (other than as 1–4 themselves)
    protection_seconds: float
    audit_seconds: float
    report: AuditReport


def model_of(
    year_cube: pl.DataFrame, quarter_cube: pl.DataFrame, tables: dict[str, pl.DataFrame] | None
) -> Cube:
    """The model of both raw cubes, with what the public tables being published tell the
    attacker (the published cubes' own `n_communes` always)."""
    shown = {
        **(tables or {}),
        YEAR_CUBE: published_cube(year_cube, True),
        QUARTER_CUBE: published_cube(quarter_cube, False),
    }
    return build_cube(year_cube, quarter_cube, knowledge_from_tables(shown))


def protect_activity_cubes(
    year_cube: pl.DataFrame,
    quarter_cube: pl.DataFrame,
    tables: dict[str, pl.DataFrame] | None = None,
    years: Collection[int] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, DisclosureSummary]:
    """Both cubes reduced to their published crossings and protected together (a year is the sum
    of its quarters), then audited, one year at a time. `tables`: the other public tables (members'
    categories and rhythm tell the attacker which relations are exact). `years`: only these years
    (None: every year of the cubes); rows sorted on their keys.

    Year by year because no relation links two years: a year's withheld cells then depend on that
    year's rows only (the model's axes, and which links are exact in every cell, are the year's),
    so a load re-protects the years it touches and keeps the others' published rows
    (etl/incremental.py), with exactly the result of protecting every year. The same method on
    all years at once gave another result in one year of six (the demo at 0.1×, 2022).

    Raises UserError, and nothing is published, when the audit finds a count of 1–4 that the
    published figures disclose.
    """
    wanted = sorted(set(_years(year_cube, quarter_cube) if years is None else years))
    parts = [
        _protect_year(_of_year(year_cube, year), _of_year(quarter_cube, year), tables)
        for year in wanted
    ]
    parts = [part for part in parts if part is not None]
    if not parts:  # reference data only, or none of `years` has activity
        summary = DisclosureSummary(0, 0, 0, 0, 0.0, 0.0, AuditReport.nothing())
        return (
            _unprotected(year_cube.clear(), True),
            _unprotected(quarter_cube.clear(), False),
            summary,
        )
    year_keys = [key for key in CUBE_KEYS if key != "quarter"]
    return (
        pl.concat([part[0] for part in parts]).sort(year_keys),
        pl.concat([part[1] for part in parts]).sort(list(CUBE_KEYS)),
        _merged([part[2] for part in parts]),
    )


def _years(year_cube: pl.DataFrame, quarter_cube: pl.DataFrame) -> list[int]:
    return pl.concat([year_cube["year"], quarter_cube["year"]]).unique().to_list()


def _of_year(cube: pl.DataFrame, year: int) -> pl.DataFrame:
    return cube.filter(pl.col("year") == year)


def _protect_year(
    year_cube: pl.DataFrame, quarter_cube: pl.DataFrame, tables: dict[str, pl.DataFrame] | None
) -> tuple[pl.DataFrame, pl.DataFrame, DisclosureSummary] | None:
    """One year's cubes protected and audited (None: the year has no row)."""
    if year_cube.is_empty() and quarter_cube.is_empty():
        return None
    started = time.perf_counter()
    cube = model_of(year_cube, quarter_cube, tables)
    groups = build_groups(cube)
    protection = protect(cube, groups)
    protected_at = time.perf_counter()
    report = audit_release(cube, groups, protection.hidden, protection.witnesses)
    summary = DisclosureSummary(
        int(cube.published.sum()),
        int(cube.sensitive().sum()),
        int(protection.hidden.sum()),
        protection.headline_withheld,
        protected_at - started,
        report.seconds,
        report,
    )
    if not report.ok:
        raise UserError(breach_message(cube, report))
    return (
        restore_cube(year_cube, cube, protection.hidden, in_year=True),
        restore_cube(quarter_cube, cube, protection.hidden, in_year=False),
        summary,
    )


def _merged(summaries: list[DisclosureSummary]) -> DisclosureSummary:
    """The years' figures added up. The report's cell arrays are concatenated: each year's numbers
    its own model's cells, so only their sizes mean something across years."""
    reports = [summary.report for summary in summaries]

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(report, name) for report in reports])

    report = AuditReport(
        sum(r.sensitive_withheld for r in reports),
        joined("published_small"),
        sum(r.by_witness for r in reports),
        sum(r.by_programme for r in reports),
        joined("breaches"),
        joined("lower"),
        joined("upper"),
        sum(r.seconds for r in reports),
        joined("unproven"),
    )
    return DisclosureSummary(
        *(sum(getattr(s, name) for s in summaries) for name in SUMMED),
        report,
    )


SUMMED = ("cells", "sensitive", "withheld", "headline_withheld", "protection_seconds",
          "audit_seconds")  # fmt: skip


def _unprotected(frame: pl.DataFrame, in_year: bool) -> pl.DataFrame:
    """An empty cube with its flags (nothing to protect)."""
    return published_cube(frame, in_year).with_columns(
        pl.lit(False).alias(suppressed_flag(m)) for m in MEASURES
    )


def cell_label(cube: Cube, cell: int) -> dict:
    """The keys of one cell of the model, as the cubes name them."""
    at = cube.coords(np.array([cell]))[0]
    axes = cube.axes
    return {
        "table": YEAR_CUBE if at[Q] == YEAR_PERIOD else QUARTER_CUBE,
        "year": axes.years[at[Y]],
        "quarter": int(at[Q]),
        "theme": axes.themes[at[THEME]],
        "lieu": axes.lieux[at[LIEU]],
        "category": axes.categories[at[CATEGORY]],
        "measure": axes.measures[at[MEASURE]],
    }


def breach_message(cube: Cube, report: AuditReport) -> str:
    """The refusal, in French, naming the first cell disclosed: table, keys, measure, interval."""
    if report.published_small.size:
        first, what = int(report.published_small[0]), "est publié tel quel"
        count = report.published_small.size
    else:
        first = int(report.breaches[0])
        low, high = report.lower[0], report.upper[0]
        if np.isnan(high):
            what = "n'a pas pu être prouvé protégé dans le temps imparti"
        elif low == high:
            what = f"se retrouve exactement ({int(high)}) à partir des chiffres publiés"
        else:
            what = (
                f"se situe entre {_bound(low)} et {_bound(high)} à partir des chiffres publiés "
                "(il faut au moins cinq valeurs possibles, dont une d'au moins 5)"
            )
        count = report.breaches.size
    row = cell_label(cube, first)
    period = f"année {row['year']}" + (f", trimestre {row['quarter']}" if row["quarter"] else "")
    return (
        f"Publication refusée : l'audit de protection des données retrouve {count} nombre(s) de 1 à 4. "
        f"Premier cas : table {row['table']}, {period}, thématique « {row['theme']} », lieu "
        f"« {row['lieu']} », catégorie « {row['category']} », mesure « {row['measure']} » : ce "
        f"nombre {what}. Rien n'a été publié ; signalez-le à l'équipe technique."
    )


def _bound(value: float) -> str:
    return "?" if not np.isfinite(value) else str(int(value))


def published_hidden(cube: Cube, published_year: pl.DataFrame, published_quarter: pl.DataFrame):
    """Per cell of the model: whether the published cubes withhold it (matched on the keys)."""
    hidden = np.zeros(cube.size, dtype=bool)
    for frame, in_year in ((published_year, True), (published_quarter, False)):
        keys = row_keys(frame, in_year)
        for measure in MEASURES:
            cells = cell_index(cube, keys.with_columns(measure=pl.lit(measure)))
            flagged = frame[suppressed_flag(measure)].fill_null(False).to_numpy()
            hidden[cells[(cells >= 0) & flagged]] = True
    return hidden & cube.published


def audit_published(
    year_cube: pl.DataFrame,
    quarter_cube: pl.DataFrame,
    published_year: pl.DataFrame,
    published_quarter: pl.DataFrame,
    tables: dict[str, pl.DataFrame] | None = None,
    programme_seconds: float = 120.0,
) -> tuple[Cube, AuditReport]:
    """The audit of cubes already published, with no help from the method (no witness): what an
    outside attacker gets from the public file (`tables`: its other tables). Rows of unpublished
    crossings in the published cubes (an older rule published them) are ignored: the model is
    the four crossings'."""
    cube = model_of(year_cube, quarter_cube, tables)
    hidden = published_hidden(cube, published_year, published_quarter)
    if cube.size == 0:
        return cube, AuditReport.nothing()
    return cube, audit_release(cube, build_groups(cube), hidden, None, programme_seconds)


__all__ += [
    "SUPPRESSED_SUFFIX",
    "audit_published",
    "cell_label",
    "model_of",
    "published_hidden",
]
