"""« Vouliez-vous dire Carouge ? »: the closest known spellings of a value that matched nothing.

Values are compared on the same forgiving key as the lookups (`lookup_key`: no accents, case or
punctuation), with difflib's ratio; only the distinct unknown values of a column are compared (a few
at most in a real file), against a few hundred known spellings.
"""

from __future__ import annotations

import difflib

import polars as pl

from etl.submission.lookups import PLACE_LABELS, Lookups, lookup_key

CUTOFF = 0.8  # « carrouge » / « carouge »: 0.93; « onex » / « meyrin »: 0.2
MAX_VALUES = 200  # distinct unknown values compared in one column
MAX_SUGGESTED = 2
MIN_KEY_LENGTH = 3  # « 12 » is close to nothing meaningful
SCHEMA = {"raw": pl.String, "suggestion": pl.String}


def closest(
    written: pl.Series, lookup: pl.DataFrame, value: str, labels: dict[str, str]
) -> pl.DataFrame:
    """raw -> « Carouge » (or « A » ou « B »), for each distinct written value close to a known one."""
    distinct = written.drop_nulls().unique().head(MAX_VALUES)
    if distinct.len() == 0:
        return pl.DataFrame(schema=SCHEMA)
    keys = pl.select(lookup_key(pl.lit(distinct))).to_series().to_list()
    target_of = dict(
        zip(lookup["key"].to_list(), lookup[value].cast(pl.String).to_list(), strict=True)
    )
    choices = list(target_of)
    rows = []
    for raw, key in zip(distinct.to_list(), keys, strict=True):
        if not key or len(key) < MIN_KEY_LENGTH:
            continue
        matches = difflib.get_close_matches(key, choices, n=2 * MAX_SUGGESTED, cutoff=CUTOFF)
        targets = list(dict.fromkeys(target_of[match] for match in matches))[:MAX_SUGGESTED]
        if targets:
            rows.append((raw, " ou ".join(f"« {labels.get(t, t)} »" for t in targets)))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def place_labels(lookups: Lookups) -> dict[str, str]:
    names = lookups.commune_names
    return {
        **dict(zip(names["ofs_number"].cast(pl.String), names["name"], strict=True)),
        **PLACE_LABELS,
    }


def for_places(written: pl.Series, lookups: Lookups) -> pl.DataFrame:
    return closest(written, lookups.places, "lieu", place_labels(lookups))


def for_themes(written: pl.Series, lookups: Lookups) -> pl.DataFrame:
    return closest(written, lookups.themes, "theme", {})


def for_members(written: pl.Series, lookups: Lookups) -> pl.DataFrame:
    return closest(written, lookups.members, "member_code", {})


def suggested(column: str | pl.Expr, suggestions: pl.DataFrame) -> pl.Expr:
    """The suggestion for each row's value (null when there is none)."""
    value = pl.col(column) if isinstance(column, str) else column
    return value.replace_strict(
        suggestions["raw"], suggestions["suggestion"], default=None, return_dtype=pl.String
    )
