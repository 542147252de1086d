"""The `activite` sheet: its preparation (written values mapped to codes, counts parsed) and its
rules, in the order they are reported (DESIGN §4)."""

from __future__ import annotations

import polars as pl

from etl.submission import suggestions
from etl.submission.columns import ACTIVITY_COUNT_COLUMNS, BREAKDOWN_COLUMNS
from etl.submission.issues import issue_rows
from etl.submission.periods import checked_periods
from etl.submission.raw import ROW, RawSheet
from etl.submission.rules_common import (
    Context,
    Rule,
    commune_missing,
    commune_unknown,
    count_missing_rule,
    count_rule,
    parsed_counts,
    resolve_expr,
    theme_missing,
    theme_unknown,
    unknown_values,
)

UNKNOWN_MEMBER = (
    "Membre « {} » inconnu du registre de la CAPAS. Indiquez le code qui vous a été attribué. "
    "Nouveau membre : le secrétariat doit d'abord vous inscrire au registre."
)
BREAKDOWN_LABELS = {
    "nouvelles_personnes": "nouvelles personnes",
    "femmes": "femmes",
    "hommes": "hommes",
    "mineurs": "mineurs",
    "seniors_65": "seniors de 65 ans et plus",
}
DISJOINT_PAIRS = [  # groups that cannot overlap: their sum is at most the persons served
    ("femmes", "hommes", "femmes + hommes"),
    ("mineurs", "seniors_65", "mineurs + seniors de 65 ans et plus"),
]


def prepare(sheet: RawSheet, context: Context) -> pl.DataFrame:
    """The sheet's rows with the codes the rules read: __member, __theme, lieu, member_code,
    __period (and its problem), period_code, year, n_<count> (and __kind_<count>)."""
    frame, known, lookups = sheet.frame, sheet.distinct, context.lookups
    frame = frame.with_columns(
        resolve_expr(
            frame, "membre", lookups.members, "member_code", "__member", known.get("membre")
        ),
        resolve_expr(frame, "theme", lookups.themes, "theme", "__theme", known.get("theme")),
        resolve_expr(frame, "commune", lookups.places, "lieu", "lieu", known.get("commune")),
    )
    given = pl.col("membre").is_not_null()
    frame = frame.with_columns(
        pl.when(given)
        .then(pl.col("__member"))
        .otherwise(pl.lit(context.member, pl.String))
        .alias("member_code")
    )
    frame = checked_periods(frame, lookups, context.today, known.get("periode"))
    written = pl.col("periode").is_not_null()
    period_code = (
        pl.when(written & pl.col("__period_problem").is_null())
        .then(pl.col("__period"))
        .when(~written)
        .then(pl.lit(context.period, pl.String))
    )
    periods = lookups.periods
    frame = frame.with_columns(period_code.alias("period_code")).with_columns(
        pl.col("period_code")
        .replace_strict(periods["period_code"], periods["year"], default=None)
        .alias("year")
    )
    return parsed_counts(frame, ACTIVITY_COUNT_COLUMNS, required=("personnes",))


def finish(frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("__theme").alias("theme"),
        pl.col("lieu").cast(pl.Int32, strict=False).alias("ofs_number"),
    )


# ---------------------------------------------------------------- member and period of each row


def member_unknown(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    unknown = pl.col("membre").is_not_null() & pl.col("__member").is_null()
    return unknown_values(
        frame, unknown, sheet, "membre", context, suggestions.for_members, UNKNOWN_MEMBER
    )


def member_not_the_identification_one(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    if context.member is None:
        return None
    return issue_rows(
        frame,
        pl.col("membre").is_not_null() & (pl.col("__member") != context.member),
        sheet,
        "membre",
        pl.format(
            "Le membre « {} » n'est pas celui de la feuille identification (« "
            + context.member
            + " ») : un classeur ne concerne qu'un membre.",
            pl.col("membre"),
        ),
    )


def missing_in_a_csv(column: str, name: str, message: str) -> Rule:
    """A CSV names its member and period on every line (a workbook on its identification sheet)."""

    def missing(frame: pl.DataFrame, sheet: RawSheet, context: Context):
        raw = context.raw
        given = context.member if column == "membre" else context.period
        if given is not None or column in raw.identification or raw.kind != "csv":
            return None
        return issue_rows(frame, pl.col(column).is_null(), sheet, column, message)

    missing.__name__ = name
    return missing


def period_unreadable(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    """Not a period, ambiguous (month or quarter), outside the known years, or not started."""
    problems = pl.col("__period_problem")
    failing = pl.col("periode").is_not_null() & problems.is_not_null()
    return issue_rows(frame, failing, sheet, "periode", problems)


def period_not_the_identification_one(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    if context.period is None:
        return None
    written = pl.col("periode").is_not_null() & pl.col("__period_problem").is_null()
    return issue_rows(
        frame,
        written & (pl.col("__period") != context.period),
        sheet,
        "periode",
        pl.format(
            "La période « {} » n'est pas celle de la feuille identification (« "
            + context.period
            + " ») : un classeur ne concerne qu'une période.",
            pl.col("periode"),
        ),
    )


# ---------------------------------------------------------------- counts within the persons served


def breakdown_rule(column: str) -> Rule:
    """A part of the persons served (women, minors…) cannot exceed them."""

    def above_persons(frame: pl.DataFrame, sheet: RawSheet, context: Context):
        value, persons = pl.col(f"n_{column}"), pl.col("n_personnes")
        return issue_rows(
            frame,
            value > persons,
            sheet,
            column,
            pl.format(
                "{} " + BREAKDOWN_LABELS[column] + " pour {} personnes servies : ce nombre fait "
                "partie des personnes servies et ne peut pas le dépasser.",
                value,
                persons,
            ),
        )

    above_persons.__name__ = f"{column}_above_persons"
    return above_persons


def disjoint_sum_rule(first: str, second: str, what: str) -> Rule:
    """Two groups that cannot overlap (women and men): together at most the persons served."""

    def sum_above_persons(frame: pl.DataFrame, sheet: RawSheet, context: Context):
        a, b, persons = pl.col(f"n_{first}"), pl.col(f"n_{second}"), pl.col("n_personnes")
        within = (a <= persons) & (b <= persons)  # otherwise already reported above
        return issue_rows(
            frame,
            within & (a + b > persons),
            sheet,
            first,
            pl.format(
                what + " = {} + {} = {}, plus que les {} personnes servies. Vérifiez ces "
                "deux colonnes.",
                a,
                b,
                a + b,
                persons,
            ),
            value=pl.format("{} + {}", a, b),
        )

    sum_above_persons.__name__ = f"{first}_{second}_above_persons"
    return sum_above_persons


def duplicate_row(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    """Two rows for the same member, period, theme and commune (two spellings of one commune)."""
    keys = ["member_code", "period_code", "__theme", "lieu"]
    is_complete = pl.all_horizontal(pl.col(keys).is_not_null())
    # Equal keys have equal hashes: sorted row hashes with no two alike mean no duplicate at
    # all, which is what a valid file costs (a sort of integers, not a hash table of rows).
    hashes = frame.select(keys).filter(is_complete).hash_rows().sort()
    if not (hashes == hashes.shift(1)).any():
        return None
    # A 64-bit hash finds candidates cheaply; the exact keys then decide among them.
    candidates = frame.filter(is_complete).filter(pl.struct(keys).hash().is_duplicated())
    if (
        candidates.height == 0
        or not candidates.select(pl.struct(keys).is_duplicated().any()).item()
    ):
        return None
    marked = candidates.with_columns(pl.col(ROW).min().over(keys).alias("__first"))
    return issue_rows(
        marked,
        pl.col(ROW) != pl.col("__first"),
        sheet,
        "commune",
        pl.format(
            "Ligne en double : même thème et même commune (et même membre et période) "
            "qu'à la ligne {}. Additionnez les deux lignes ou supprimez-en une.",
            pl.col("__first"),
        ),
        value=pl.format("{} / {}", pl.col("theme"), pl.col("commune")),
    )


def _count_rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for column in ACTIVITY_COUNT_COLUMNS:
        if column == "personnes":
            label = "personnes servies"
            rules += [count_rule(column, label), count_missing_rule(column, label)]
        else:
            rules.append(count_rule(column))
    return tuple(rules)


RULES: tuple[Rule, ...] = (
    member_unknown,
    member_not_the_identification_one,
    missing_in_a_csv(
        "membre",
        "member_missing_in_a_csv",
        "Membre manquant : indiquez le code du membre sur chaque ligne.",
    ),
    period_unreadable,
    period_not_the_identification_one,
    missing_in_a_csv(
        "periode",
        "period_missing_in_a_csv",
        "Période manquante : indiquez la période sur chaque ligne.",
    ),
    theme_missing,
    theme_unknown,
    commune_missing,
    commune_unknown,
    *_count_rules(),
    *(breakdown_rule(column) for column in BREAKDOWN_COLUMNS),
    *(disjoint_sum_rule(*pair) for pair in DISJOINT_PAIRS),
    duplicate_row,
)
