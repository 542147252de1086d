"""The `observations` sheet (field realities): its preparation and its rules, in the order they are
reported (DESIGN §4). Texts may be published: personal data is refused, and masked in the report."""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.submission.columns import LEVELS
from etl.submission.issues import issue_rows
from etl.submission.lookups import lookup_key
from etl.submission.parsing import (
    FALSE_WORDS,
    LEVEL_WORDS,
    PERSONAL_DATA,
    TRUE_WORDS,
    mask_personal_data,
    parse_date,
)
from etl.submission.raw import RawSheet
from etl.submission.rules_common import (
    Context,
    Rule,
    commune_unknown,
    excel_error_in_free_text,
    missing_rule,
    or_excel_error,
    resolve,
    theme_missing,
    theme_unknown,
)

MAX_TEXT_CHARS = 2000
# Observations may be dated a little before or after their period (noted late, or just before).
OBSERVATION_MARGIN = dt.timedelta(days=31)
obs_date = pl.col("obs_date")
shown_date = obs_date.dt.strftime("%d.%m.%Y")


def prepare(sheet: RawSheet, context: Context) -> pl.DataFrame:
    frame, lookups = sheet.frame, context.lookups
    return frame.with_columns(
        resolve(frame, "theme", lookups.themes, "theme", "__theme"),
        resolve(frame, "commune", lookups.places, "lieu", "lieu"),
        parse_date(pl.col("date")).alias("obs_date"),
        lookup_key(pl.col("niveau")).replace_strict(LEVEL_WORDS, default=None).alias("__niveau"),
        lookup_key(pl.col("public")).alias("__public"),
    )


def _is_public() -> pl.Expr:
    """oui/non (and their synonyms) as a boolean; empty is non; anything else null."""
    public = pl.col("__public")
    return (
        pl.when(public.is_in(TRUE_WORDS))
        .then(True)
        .when(public.is_in(FALSE_WORDS) | public.is_null())
        .then(False)
    )


def finish(frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(context.member, pl.String).alias("member_code"),
        pl.lit(context.period, pl.String).alias("period_code"),
        pl.col("__theme").alias("theme"),
        pl.col("lieu").cast(pl.Int32, strict=False).alias("ofs_number"),
        pl.col("__niveau").alias("niveau"),
        _is_public().alias("is_public"),
    )


# ---------------------------------------------------------------- dates


date_missing = missing_rule(
    "date", "Date manquante : indiquez la date de l'observation (jj.mm.aaaa).", "date_missing"
)


def date_unreadable(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    return issue_rows(
        frame,
        pl.col("date").is_not_null() & obs_date.is_null(),
        sheet,
        "date",
        or_excel_error(
            pl.col("date"),
            pl.format(
                "Date « {} » non reconnue : écrivez-la jj.mm.aaaa, par exemple 15.03.2025.",
                pl.col("date"),
            ),
        ),
    )


def date_in_the_future(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    return issue_rows(
        frame,
        obs_date > context.today,
        sheet,
        "date",
        pl.format("La date {} est dans le futur.", shown_date),
        value=shown_date,
    )


def date_outside_the_period(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    """More than a month before or after the file's period (and not in the future)."""
    if context.period is None:
        return None
    periods = context.lookups.periods
    bounds = periods.filter(pl.col("period_code") == context.period).row(0, named=True)
    start, end = bounds["start_date"], bounds["end_date"]
    outside = (obs_date < start - OBSERVATION_MARGIN) | (obs_date > end + OBSERVATION_MARGIN)
    return issue_rows(
        frame,
        outside & (obs_date <= context.today),
        sheet,
        "date",
        pl.format(
            f"La date {{}} est en dehors de la période {context.period} (du "
            f"{start:%d.%m.%Y} au {end:%d.%m.%Y}, à un mois près). Vérifiez la date ou "
            "envoyez l'observation avec la période concernée.",
            shown_date,
        ),
        value=shown_date,
    )


# ---------------------------------------------------------------- level and publication


level_missing = missing_rule(
    "niveau", "Niveau manquant : choisissez information, vigilance ou alerte.", "level_missing"
)


def level_unknown(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    choices = ", ".join(LEVELS[:-1]) + " ou " + LEVELS[-1]
    return issue_rows(
        frame,
        pl.col("niveau").is_not_null() & pl.col("__niveau").is_null(),
        sheet,
        "niveau",
        or_excel_error(
            pl.col("niveau"),
            pl.format("Niveau « {} » inconnu : choisissez " + choices + ".", pl.col("niveau")),
        ),
    )


def public_unknown(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    return issue_rows(
        frame,
        pl.col("__public").is_not_null() & _is_public().is_null(),
        sheet,
        "public",
        or_excel_error(
            pl.col("public"),
            pl.format(
                "« {} » : écrivez oui (l'observation peut être publiée) ou non (réservée au "
                "secrétariat).",
                pl.col("public"),
            ),
        ),
    )


# ---------------------------------------------------------------- the text


text_missing = missing_rule(
    "texte", "Texte manquant : décrivez ce que vous observez.", "text_missing"
)


def text_too_long(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    text = pl.col("texte")
    return issue_rows(
        frame,
        text.str.len_chars() > MAX_TEXT_CHARS,
        sheet,
        "texte",
        pl.format(
            f"Le texte compte {{}} caractères ; {MAX_TEXT_CHARS} au plus. Raccourcissez-le.",
            text.str.len_chars(),
        ),
        value=mask_personal_data(text),
    )


def text_with_personal_data(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    """E-mail, phone, AVS number or IBAN: shown masked, the text must not be published."""
    text = pl.col("texte")
    found = pl.concat_list(
        [
            pl.when(text.str.contains(pattern)).then(pl.lit(what))
            for what, pattern in PERSONAL_DATA.items()
        ]
    ).list.drop_nulls()
    return issue_rows(
        frame.with_columns(found.alias("__found")),
        pl.col("__found").list.len() > 0,
        sheet,
        "texte",
        pl.format(
            "Le texte contient {} (masqué ci-contre). Les observations ne doivent contenir "
            "aucune donnée personnelle : retirez-la ou remplacez-la par une description "
            "générale.",
            pl.col("__found").list.join(" et "),
        ),
        value=mask_personal_data(text),
    )


RULES: tuple[Rule, ...] = (
    theme_missing,
    theme_unknown,
    commune_unknown,  # the commune is optional: no « commune manquante »
    date_missing,
    date_unreadable,
    date_in_the_future,
    date_outside_the_period,
    level_missing,
    level_unknown,
    public_unknown,
    text_missing,
    text_too_long,
    text_with_personal_data,
    excel_error_in_free_text(("texte",)),
)
