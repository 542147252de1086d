"""Disclosure control of the activity cubes (DESIGN §6): protection, then an audit that plays the
attacker. `protect_activity_cubes` is what the publish calls (etl/public.py).

- relations.py: the cells of both cubes as one long table, and every relation between them;
- table.py: the same as integer arrays; witness.py, search.py: proofs that a withheld cell is safe;
- method.py: the method (primary, then secondary by witnesses); audit.py: the attacker;
- greedy.py: the rule used before, kept for comparison (tests, bench).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.disclosure.audit import AuditReport, audit_release
from etl.disclosure.method import SUPPRESSED_SUFFIX, protect, restore_cube, suppressed_flag
from etl.disclosure.relations import (
    CUBE_KEYS,
    CUBE_MEASURES,
    QUARTER_CUBE,
    SMALLEST_PUBLISHED_COUNT,
    WHOLE_YEAR,
    YEAR_CUBE,
    cube_cells,
)
from etl.disclosure.table import build_table, sensitive_cells
from etl.errors import UserError

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

    cells: int  # reported counts in both cubes
    sensitive: int  # of which 1–4
    withheld: int  # withheld in all (primary and secondary)
    protection_seconds: float
    audit_seconds: float
    report: AuditReport


def protect_activity_cubes(
    year_cube: pl.DataFrame, quarter_cube: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, DisclosureSummary]:
    """Both cubes protected together (a year is the sum of its quarters), then audited.

    Raises UserError, and nothing is published, when the audit finds a count of 1–4 that the
    published figures disclose.
    """
    cells = cube_cells(year_cube, quarter_cube)
    if cells.is_empty():  # a database with reference data only
        none = np.zeros(0, dtype=bool)
        empty = DisclosureSummary(0, 0, 0, 0.0, 0.0, AuditReport.nothing())
        return (
            restore_cube(year_cube, cells, none, in_year=True),
            restore_cube(quarter_cube, cells, none, in_year=False),
            empty,
        )
    started = time.perf_counter()
    table = build_table(cells)
    protection = protect(table)
    protected_at = time.perf_counter()
    report = audit_release(table, protection.hidden, protection.witnesses)
    summary = DisclosureSummary(
        int(table.reported.sum()),
        int(sensitive_cells(table).sum()),
        int(protection.hidden.sum()),
        protected_at - started,
        report.seconds,
        report,
    )
    if not report.ok:
        raise UserError(breach_message(cells, report))
    hidden = protection.hidden
    return (
        restore_cube(year_cube, cells, hidden, in_year=True),
        restore_cube(quarter_cube, cells, hidden, in_year=False),
        summary,
    )


def breach_message(cells: pl.DataFrame, report: AuditReport) -> str:
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
    row = cells.row(first, named=True)
    table = YEAR_CUBE if row["in_year_cube"] else QUARTER_CUBE
    period = f"année {row['year']}" + (
        "" if row["in_year_cube"] else f", trimestre {row['quarter']}"
    )
    return (
        f"Publication refusée : l'audit de protection des données retrouve {count} nombre(s) de 1 à 4. "
        f"Premier cas : table {table}, {period}, thématique « {row['theme']} », lieu "
        f"« {row['lieu']} », catégorie « {row['category']} », mesure « {row['measure']} » : ce "
        f"nombre {what}. Rien n'a été publié ; signalez-le à l'équipe technique."
    )


def _bound(value: float) -> str:
    return "?" if not np.isfinite(value) else str(int(value))


def published_cells(
    year_cube: pl.DataFrame,
    quarter_cube: pl.DataFrame,
    published_year: pl.DataFrame,
    published_quarter: pl.DataFrame,
) -> tuple[pl.DataFrame, np.ndarray]:
    """The true cells of the raw cubes and, per cell, whether the published cubes withhold it
    (matched on the keys, not on row order), for an audit of what was actually published."""
    cells = cube_cells(year_cube, quarter_cube)
    flags = [suppressed_flag(m) for m in CUBE_MEASURES]
    parts = []
    for raw, published, in_year in (
        (year_cube, published_year, True),
        (quarter_cube, published_quarter, False),
    ):
        keys = [k for k in CUBE_KEYS if k in raw.columns]
        matched = (
            raw.select(keys)
            .with_row_index("row")
            .join(published.select(*keys, *flags), on=keys, how="left")
            .unpivot(on=flags, index="row", variable_name="measure", value_name="hidden")
            .with_columns(
                pl.col("measure").str.replace(f"{SUPPRESSED_SUFFIX}$", ""),
                pl.lit(in_year).alias("in_year_cube"),
            )
        )
        parts.append(matched)
    hidden = cells.join(
        pl.concat(parts), on=["row", "measure", "in_year_cube"], how="left", maintain_order="left"
    )["hidden"]
    return cells, hidden.fill_null(False).to_numpy()


def audit_published(
    year_cube: pl.DataFrame,
    quarter_cube: pl.DataFrame,
    published_year: pl.DataFrame,
    published_quarter: pl.DataFrame,
    programme_seconds: float = 60.0,
) -> AuditReport:
    """The audit of cubes already published, with no help from the method (it finds its own
    witnesses): what an outside attacker gets from the public file."""
    cells, hidden = published_cells(year_cube, quarter_cube, published_year, published_quarter)
    if cells.is_empty():
        return AuditReport.nothing()
    return audit_release(build_table(cells), hidden, None, programme_seconds)
