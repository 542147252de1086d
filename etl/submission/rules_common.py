"""What the rules of the three data sheets share: their context, the mapping of written values to
codes, and the rules on themes, communes, counts and free texts (DESIGN §4).

A rule is a function `(frame, sheet, context) -> issues or None`: it reads the columns the sheet's
preparation added (`__theme`, `lieu`, `n_personnes`…), and returns one issue per failing row, with
its French message. Each sheet lists its rules in a table (rules_activity.py, rules_services.py,
rules_observations.py), applied in order; tests/test_submission_rule_table.py gives each rule a
file that breaks it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from etl.submission import suggestions
from etl.submission.issues import IssueCollector, issue_rows
from etl.submission.lookups import Lookups, lookup_key
from etl.submission.parsing import (
    excel_error_message,
    integer_messages,
    is_excel_error,
    parse_integers,
)
from etl.submission.raw import ROW, RawFile, RawSheet


@dataclass(frozen=True)
class Context:
    """What the rules know besides the sheet: the file, the database's lists, today, and the
    member and period the file is about (from the identification sheet, or its only slice)."""

    raw: RawFile
    lookups: Lookups
    today: dt.date
    member: str | None = None
    period: str | None = None


Rule = Callable[[pl.DataFrame, RawSheet, Context], pl.DataFrame | None]


def apply_rules(
    rules: tuple[Rule, ...],
    frame: pl.DataFrame,
    sheet: RawSheet,
    context: Context,
    issues: IssueCollector,
) -> None:
    for rule in rules:
        issues.add_rows(rule(frame, sheet, context))


# ---------------------------------------------------------------- written values -> codes


def resolve_expr(
    frame: pl.DataFrame,
    column: str,
    lookup: pl.DataFrame,
    value: str,
    alias: str,
    distinct: pl.Series | None = None,
) -> pl.Expr:
    """Map a text column through a lookup on its distinct values (fast on a million rows); the
    mapping of the rows is an expression, so that several columns are mapped in one pass.
    `distinct`: the column's distinct values when the reader already has them."""
    if distinct is None:
        distinct = frame.select(pl.col(column).unique().drop_nulls().alias("__raw"))
    else:
        distinct = distinct.alias("__raw").to_frame()
    matched = distinct.with_columns(lookup_key(pl.col("__raw")).alias("key")).join(
        lookup.select("key", value), on="key", how="inner"
    )
    if (
        matched.height == distinct.height
        and frame.schema[column] == lookup.schema[value] == pl.String
        and matched["__raw"].eq_missing(matched[value]).all()
    ):  # every value is already written as it is stored (codes): the column as it is
        return pl.col(column).alias(alias)
    return (
        pl.col(column)
        .replace_strict(
            matched["__raw"], matched[value], default=None, return_dtype=lookup.schema[value]
        )
        .alias(alias)
    )


def resolve(
    frame: pl.DataFrame, column: str, lookup: pl.DataFrame, value: str, alias: str
) -> pl.Series:
    return frame.select(resolve_expr(frame, column, lookup, value, alias)).to_series()


# ---------------------------------------------------------------- values that match nothing

UNKNOWN_THEME = (
    "Thème « {} » inconnu. Choisissez un thème de la liste (par exemple « Aide alimentaire » ou "
    "son code « alimentation »)."
)
UNKNOWN_PLACE = (
    "Commune « {} » inconnue. Choisissez l'une des 45 communes genevoises dans la liste (le numéro "
    "OFS, par exemple 6608, est aussi accepté), ou « hors canton », ou « non renseignée »."
)
CLOSE = " Vouliez-vous dire {} ?"  # after the message, so that it starts as it always did


def unknown_message(value: pl.Expr, suggestion: pl.Expr, message: str) -> pl.Expr:
    """The message for a value matching nothing (`message` has one {}, the value): an Excel error
    named as such, else the message with the closest known spellings when there are some."""
    return (
        pl.when(is_excel_error(value))
        .then(excel_error_message(value))
        .when(suggestion.is_not_null())
        .then(pl.format(message + CLOSE, value, suggestion))
        .otherwise(pl.format(message, value))
    )


def or_excel_error(value: pl.Expr, message: pl.Expr) -> pl.Expr:
    return pl.when(is_excel_error(value)).then(excel_error_message(value)).otherwise(message)


def unknown_values(
    frame: pl.DataFrame,
    unknown: pl.Expr,
    sheet: RawSheet,
    column: str,
    context: Context,
    suggest: Callable[[pl.Series, Lookups], pl.DataFrame],
    message: str,
) -> pl.DataFrame | None:
    """Values matching nothing (`unknown`), each with the closest known spellings if any."""
    failed = frame.filter(unknown)
    if failed.height == 0:
        return None
    close = suggest(failed[column], context.lookups)
    value = pl.col(column)
    text = unknown_message(value, suggestions.suggested(value, close), message)
    return issue_rows(failed, pl.lit(True), sheet, column, text)


# ---------------------------------------------------------------- themes and communes


def missing_rule(column: str, message: str, name: str | None = None) -> Rule:
    """A required column left empty on a row (`name`: the rule's name, `<column>_missing`)."""

    def missing(frame: pl.DataFrame, sheet: RawSheet, context: Context):
        return issue_rows(frame, pl.col(column).is_null(), sheet, column, message)

    missing.__name__ = name or f"{column}_missing"
    return missing


theme_missing = missing_rule("theme", "Thème manquant : choisissez un thème dans la liste.")


def theme_unknown(frame: pl.DataFrame, sheet: RawSheet, context: Context) -> pl.DataFrame | None:
    unknown = pl.col("theme").is_not_null() & pl.col("__theme").is_null()
    return unknown_values(
        frame, unknown, sheet, "theme", context, suggestions.for_themes, UNKNOWN_THEME
    )


commune_missing = missing_rule(
    "commune",
    "Commune manquante : choisissez une commune dans la liste, ou « hors canton », ou "
    "« non renseignée » si vous ne la connaissez pas.",
)


def commune_unknown(frame: pl.DataFrame, sheet: RawSheet, context: Context) -> pl.DataFrame | None:
    unknown = pl.col("commune").is_not_null() & pl.col("lieu").is_null()
    return unknown_values(
        frame, unknown, sheet, "commune", context, suggestions.for_places, UNKNOWN_PLACE
    )


# ---------------------------------------------------------------- counts


def parsed_counts(
    frame: pl.DataFrame, columns: tuple[str, ...], required: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Each count column parsed into `n_<column>` (Int32); where some values are not whole numbers
    ≥ 0, their kind (negatif, decimal, texte…) in `__kind_<column>` for the count rules."""
    # The plain casts of every count column in one pass (columns in parallel).
    as_int32 = frame.select(pl.col(column).cast(pl.Int32, strict=False) for column in columns)
    added = []
    for column in columns:
        values, kind = parse_integers(frame, column, as_int32[column])
        added.append(values.alias(f"n_{column}"))
        if kind is not None and column not in required:  # "-" or "n.d." when optional: unknown
            kind = kind.replace({"marque": None})
        if kind is not None and kind.null_count() < frame.height:
            added.append(kind.alias(f"__kind_{column}"))
    return frame.with_columns(added)


def count_rule(column: str, required_label: str | None = None) -> Rule:
    """The rule of one count column: a whole number ≥ 0 (`required_label`: the column is
    required, and named so in the message: « indiquez le nombre de personnes servies »)."""

    def not_a_count(frame: pl.DataFrame, sheet: RawSheet, context: Context):
        kind = f"__kind_{column}"
        if kind not in frame.columns:
            return None
        checked = frame.filter(pl.col(kind).is_not_null()).select(
            ROW, pl.col(column), pl.col(column).alias("__value"), pl.col(kind).alias("__kind")
        )
        message = integer_messages(
            pl.col("__kind"), required_label or "", required_label is not None
        )
        return issue_rows(checked, pl.lit(True), sheet, column, message)

    not_a_count.__name__ = f"{column}_not_a_count"
    return not_a_count


def count_missing_rule(column: str, label: str) -> Rule:
    """A required count left empty (a marker such as « - » is reported by its count rule)."""

    def missing(frame: pl.DataFrame, sheet: RawSheet, context: Context):
        kind = f"__kind_{column}"
        empty = pl.col(f"n_{column}").is_null()
        if kind in frame.columns:
            empty = empty & pl.col(kind).is_null()
        return issue_rows(
            frame,
            empty,
            sheet,
            column,
            f"Valeur manquante : indiquez le nombre de {label} (0 s'il n'y en a pas).",
        )

    missing.__name__ = f"{column}_missing"
    return missing


# ---------------------------------------------------------------- free texts


def excel_error_in_free_text(columns: tuple[str, ...]) -> Rule:
    """An Excel error (#N/A…) in a free text is a broken formula, not a text to publish."""

    def excel_error(frame: pl.DataFrame, sheet: RawSheet, context: Context):
        parts = [
            issue_rows(frame, is_excel_error(pl.col(c)), sheet, c, excel_error_message(pl.col(c)))
            for c in columns
        ]
        parts = [part for part in parts if part is not None]
        return pl.concat(parts) if parts else None

    excel_error.__name__ = "excel_error_in_free_text"
    return excel_error
