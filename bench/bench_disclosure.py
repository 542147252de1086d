"""Disclosure control of one scale: the method, its audit, and the previous rule's leaks.

The raw cubes are read from the cached database; the publish path itself is timed (cells, then
protection, then audit), and the previous greedy rule is attacked by bound propagation for the
comparison (what it let through)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from etl import db, disclosure, public
from etl.disclosure import greedy
from etl.disclosure.audit import proven_breaches
from etl.disclosure.cube import PLACES
from etl.disclosure.relations import build_groups
from etl.vocabulary import ALL


@dataclass(frozen=True)
class DisclosureResult:
    cells: int
    sensitive: int
    withheld: int
    protection_s: float
    audit_s: float
    breaches: int
    old_withheld: int
    old_breaches: int  # withheld 1–4 of the previous rule that bound propagation discloses
    old_exact: int  # of which recovered exactly
    persons_communes: int  # persons counts, year × theme × commune (all members), published
    persons_communes_withheld: int  # of which withheld

    @property
    def share(self) -> float:
        return self.withheld / self.cells if self.cells else 0.0

    @property
    def persons_share(self) -> float:
        """Share of the persons counts of a commune by year and theme that are withheld."""
        return (
            self.persons_communes_withheld / self.persons_communes if self.persons_communes else 0.0
        )

    @property
    def old_share(self) -> float:
        return self.old_withheld / self.cells if self.cells else 0.0


def measure_disclosure(raw: Path, compare_old: bool = True) -> DisclosureResult:
    con = db.open_reader(raw)
    try:
        tables = public.read_public_layer(con)
    finally:
        con.close()
    year, quarter = tables[public.YEAR_CUBE], tables[public.QUARTER_CUBE]
    published_year, _, summary = disclosure.protect_activity_cubes(year, quarter, tables)
    persons, persons_withheld = commune_persons(published_year)
    old_withheld = old_breaches = old_exact = 0
    if compare_old:
        old_year, old_quarter = greedy.suppress_activity_cubes(year, quarter)
        # The previous rule restricted to the crossings published now, attacked there.
        cube = disclosure.model_of(year, quarter, tables)
        hidden = disclosure.published_hidden(cube, old_year, old_quarter)
        bad, low, high = proven_breaches(cube, build_groups(cube), hidden)
        old_withheld, old_breaches = int(hidden.sum()), int(bad.size)
        old_exact = int(np.sum(low == high))
    return DisclosureResult(
        summary.cells,
        summary.sensitive,
        summary.withheld,
        summary.protection_seconds,
        summary.audit_seconds,
        int(summary.report.breaches.size),
        old_withheld,
        old_breaches,
        old_exact,
        persons,
        persons_withheld,
    )


def commune_persons(published_year: pl.DataFrame) -> tuple[int, int]:
    """(persons counts of a commune by year and theme, all members, that the cube reports; of
    which withheld): the figures pages show most, where withholding costs users most."""
    flag = disclosure.suppressed_flag("personnes")
    communes = published_year.filter(
        (pl.col("category") == ALL) & ~pl.col("lieu").is_in([*PLACES])
    ).filter(pl.col("personnes").is_not_null() | pl.col(flag))
    return communes.height, int(communes[flag].sum())
