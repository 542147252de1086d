"""What the public file tells the attacker besides the counts themselves.

- Known facts about single cells (`cell_facts`): a published column that says whether a count is
  zero or positive. `n_communes` of a commune's row is 1 when someone was served there: it tells
  whether a withheld number of persons is 0 or at least 1. Other engineers' public tables that
  reveal such a fact (a « has activity » flag, a coverage state read from counts…) register a
  reader in FACT_READERS; the audit reads every registered fact from the tables being published.
- Which relations are known to be exact (`Knowledge`): an inequality (quarters ≤ year, categories
  ≥ all members, women + men ≤ persons…) is an equality for the attacker only where the public
  tables show it must be one: no member reports by year (the members' rhythm is public), no member
  holds several categories (the members' categories are public), or the relation holds exactly in
  every cell (then it looks like a rule). Where the tables cannot show it, the attacker knows the
  inequality only. Without this knowledge (a bare pair of cubes), the audit assumes the attacker
  knows every relation that happens to be exact, which is stricter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

YEAR_CUBE = "activity_year_cube"
QUARTER_CUBE = "activity_quarter_cube"
FACT_COLUMNS = ("year", "quarter", "theme", "lieu", "category", "measure", "positive")


@dataclass(frozen=True)
class Knowledge:
    """What the public tables say about the members (None: assume the strictest)."""

    category_sets: tuple[frozenset[str], ...] = ()
    # Years in which some member reports by year (then quarters only add up to at most the year).
    years_with_annual_members: frozenset[int] = frozenset()
    # Years in which some member did not send every period (a stock's year may then be earlier).
    years_with_incomplete_members: frozenset[int] = frozenset()
    facts: pl.DataFrame = field(default_factory=lambda: empty_facts())

    @property
    def several_categories(self) -> bool:
        return any(len(s) > 1 for s in self.category_sets)


def empty_facts() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "year": pl.Int64,
            "quarter": pl.Int64,
            "theme": pl.String,
            "lieu": pl.String,
            "category": pl.String,
            "measure": pl.String,
            "positive": pl.Boolean,
        }
    )


def _communes_reached(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """`n_communes` of a commune's published row: persons served there are 0 or at least 1."""
    parts = []
    for name, quarter in ((YEAR_CUBE, pl.lit(0)), (QUARTER_CUBE, pl.col("quarter"))):
        cube = tables.get(name)
        if cube is None or "n_communes" not in cube.columns or cube.is_empty():
            continue
        parts.append(
            cube.filter(
                pl.col("lieu").str.contains(r"^\d+$") & pl.col("n_communes").is_not_null()
            ).select(
                pl.col("year").cast(pl.Int64),
                quarter.cast(pl.Int64).alias("quarter"),
                "theme",
                "lieu",
                "category",
                pl.lit("personnes").alias("measure"),
                (pl.col("n_communes") > 0).alias("positive"),
            )
        )
    return pl.concat(parts) if parts else empty_facts()


FactReader = Callable[[dict[str, pl.DataFrame]], pl.DataFrame]
# Every public column that says a count is zero or positive, as a reader of the public tables
# returning FACT_COLUMNS (quarter 0 = the year). Add yours here.
FACT_READERS: list[FactReader] = [_communes_reached]


def cell_facts(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    frames = [reader(tables).select(FACT_COLUMNS) for reader in FACT_READERS]
    return pl.concat([empty_facts(), *frames], how="vertical_relaxed")


def knowledge_from_tables(tables: dict[str, pl.DataFrame]) -> Knowledge:
    """The attacker's knowledge from the public tables being published (by name)."""
    members = tables.get("members")
    sets = ()
    if members is not None and "categories" in members.columns:
        sets = tuple(frozenset(c or ()) for c in members["categories"].to_list())
    rhythm = tables.get("member_years")
    annual, incomplete = frozenset(), frozenset()
    if rhythm is not None and not rhythm.is_empty():
        annual = frozenset(rhythm.filter(pl.col("granularity") == "annee")["year"].to_list())
        incomplete = frozenset(
            rhythm.filter(pl.col("n_periods") < pl.col("n_periods_expected"))["year"].to_list()
        )
    return Knowledge(sets, annual, incomplete, cell_facts(tables))
