"""Which crossings of the activity cubes are published (DESIGN §6): the table redesign.

The raw cubes cross year or quarter × theme × place × member category. Published as they are, 30 %
of commune × theme × quarter cells hold 1 to 4 persons, and protecting a small count linked in four
dimensions withholds half the table. Statistical offices first redesign such tables (Hundepool et
al., *Statistical Disclosure Control*, Wiley 2012, ch. 5: not tabulating detail is a recognised
non-perturbative method), then apply cell suppression to what is left. The public cubes hold four
crossings only, each for all nine measures:

- Y1: year × theme (each and '*') × place (each commune, hors canton, non renseignée, GE, '*'),
  all members (category '*');
- Y2: year × theme × category (each and '*') for the canton (GE) and everywhere ('*');
- Q1: year × quarter × place (every place), all themes and all members;
- Q2: year × quarter × theme × category for the canton (GE) and everywhere ('*').

Not published: a commune by member category (year or quarter), a commune's quarters by theme, and
the same detail for persons living outside the canton or whose commune is unknown (hors canton, non
renseignée): they are a few per cent of persons, so that 35 % of all the counts of 1 to 4 of the
full design sat there (10,800 of 31,000 on the demo at 1×, docs/DONNEES.md). Pages and downloads
that would ask for those say so (`is_published`).
"""

from __future__ import annotations

import polars as pl

from etl.vocabulary import ALL, CANTON

# The places whose category detail and quarterly theme detail are published.
DETAILED_PLACES = (CANTON, ALL)
YEAR, QUARTER = "annee", "trimestre"


def published_rows(in_year_cube: bool) -> pl.Expr:
    """True for the rows of the year (or quarter) cube that belong to a published crossing."""
    canton_level = pl.col("lieu").is_in(DETAILED_PLACES)
    if in_year_cube:
        return canton_level | (pl.col("category") == ALL)
    return canton_level | ((pl.col("theme") == ALL) & (pl.col("category") == ALL))


def published_cube(cube: pl.DataFrame, in_year_cube: bool) -> pl.DataFrame:
    """`cube` restricted to its published crossings, with `n_communes` kept only where it counts
    published cells: a count of communes reached by one category, or by one theme in a quarter,
    would say something about cells that are not published."""
    published = cube.filter(published_rows(in_year_cube))
    if "n_communes" not in published.columns:
        return published
    counts_published_cells = pl.col("category") == ALL
    if not in_year_cube:
        counts_published_cells = counts_published_cells & (pl.col("theme") == ALL)
    return published.with_columns(
        pl.when(counts_published_cells).then(pl.col("n_communes")).alias("n_communes")
    )


def is_published(step: str, lieu: str, theme: str, category: str) -> bool:
    """Whether one cell of the cubes is published: `step` YEAR or QUARTER, `lieu` a place code
    (OFS number as text, GE, '*', hors_canton, non_renseignee), `theme` and `category` codes or '*'."""
    if lieu in DETAILED_PLACES:
        return True
    if step == YEAR:
        return category == ALL
    return theme == ALL and category == ALL


def unpublished_detail(step: str, places: bool, themes: bool, categories: bool) -> list[str]:
    """What a selection asks for that is not published, as codes the pages translate:
    'place_category' (a commune, hors canton or non renseignée by member category) and
    'place_quarter_theme' (their quarters by theme). `places`: some place asked is one of those;
    `themes` / `categories`: some theme / category other than '*' is asked."""
    missing = []
    if places and categories:
        missing.append("place_category")
    if places and step == QUARTER and themes:
        missing.append("place_quarter_theme")
    return missing
