"""The `services` sheet (who does what where): its preparation, its rules in the order they are
reported, and the directory rows it gives (DESIGN §4)."""

from __future__ import annotations

import polars as pl

from etl.submission import suggestions
from etl.submission.lookups import lookup_key
from etl.submission.parsing import WHOLE_CANTON
from etl.submission.raw import ROW, RawSheet
from etl.submission.rules_common import (
    Context,
    Rule,
    commune_missing,
    commune_unknown,
    count_rule,
    excel_error_in_free_text,
    missing_rule,
    parsed_counts,
    resolve,
    theme_missing,
    theme_unknown,
    unknown_values,
)

FREE_TEXTS = ("nom", "type", "adresse", "horaires", "contact", "conditions_acces", "langues")
UNKNOWN_SERVED = (
    "« {} » n'est pas une commune genevoise reconnue. Séparez les communes par des virgules, ou "
    "écrivez « tout le canton »."
)


def prepare(sheet: RawSheet, context: Context) -> pl.DataFrame:
    frame, lookups = sheet.frame, context.lookups
    frame = frame.with_columns(
        resolve(frame, "theme", lookups.themes, "theme", "__theme"),
        resolve(frame, "commune", lookups.places, "lieu", "lieu"),
    )
    return parsed_counts(frame, ("capacite",))


def _whole_canton() -> pl.Expr:
    keys = pl.Series(WHOLE_CANTON)
    return lookup_key(pl.col("communes_desservies")).is_in(keys.implode())


def _served_items(frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    """ROW, item (each commune named in communes_desservies), ofs (its number, null if unknown)."""
    text = pl.col("communes_desservies")
    items = (
        frame.filter(text.is_not_null() & ~_whole_canton())
        .select(ROW, text.str.replace_all(r"[;|]", ",").str.split(",").alias("item"))
        .explode("item")
        .with_columns(pl.col("item").str.strip_chars())
        .filter(pl.col("item").str.len_chars() > 0)
    )
    items = items.with_columns(resolve(items, "item", context.lookups.places, "lieu", "lieu"))
    return items.with_columns(pl.col("lieu").cast(pl.Int32, strict=False).alias("ofs"))


name_missing = missing_rule(
    "nom", "Nom du service manquant : indiquez le nom du service.", "name_missing"
)


def served_commune_unknown(frame: pl.DataFrame, sheet: RawSheet, context: Context):
    items = _served_items(frame, context)
    return unknown_values(
        items.with_columns(pl.col("item").alias("communes_desservies")),
        pl.col("ofs").is_null(),
        sheet,
        "communes_desservies",
        context,
        suggestions.for_places,
        UNKNOWN_SERVED,
    )


RULES: tuple[Rule, ...] = (
    name_missing,
    theme_missing,
    theme_unknown,
    commune_missing,
    commune_unknown,
    excel_error_in_free_text(FREE_TEXTS),
    count_rule("capacite"),
    served_commune_unknown,
)


def _communes_served(frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    """ROW -> communes_desservies (OFS numbers) and tout_le_canton."""
    all_communes = context.lookups.commune_names["ofs_number"].cast(pl.Int32).sort().to_list()
    listed = (
        _served_items(frame, context)
        .filter(pl.col("ofs").is_not_null())
        .group_by(ROW)
        .agg(pl.col("ofs").unique().sort().alias("communes_desservies"))
    )
    return (
        frame.select(ROW, _whole_canton().alias("tout_le_canton"))
        .join(listed, on=ROW, how="left")
        .with_columns(
            pl.when(pl.col("tout_le_canton"))
            .then(pl.lit(all_communes, pl.List(pl.Int32)))
            .otherwise(pl.col("communes_desservies"))
            .alias("communes_desservies")
        )
    )


def finish(frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    """The directory rows: the slice's member and period, numbered, communes served resolved."""
    languages = (
        pl.col("langues")
        .str.replace_all(r"[;|/]", ",")
        .str.split(",")
        .list.eval(pl.element().str.strip_chars().str.to_lowercase())
        .list.eval(pl.element().filter(pl.element().str.len_chars() > 0))
    )
    return (
        frame.with_columns(pl.col("n_capacite").alias("capacite"))
        .drop("communes_desservies")
        .join(_communes_served(frame, context), on=ROW, how="left", maintain_order="left")
        .with_columns(
            pl.lit(context.member, pl.String).alias("member_code"),
            pl.lit(context.period, pl.String).alias("period_code"),
            pl.int_range(1, frame.height + 1, dtype=pl.Int32).alias("service_no"),
            pl.col("__theme").alias("theme"),
            pl.col("type").str.to_lowercase(),
            pl.col("lieu").cast(pl.Int32, strict=False).alias("ofs_number"),
            languages.alias("langues"),
        )
        .with_columns(
            # Nothing written: the service serves the commune where it is.
            pl.when(pl.col("communes_desservies").is_null() & pl.col("ofs_number").is_not_null())
            .then(pl.concat_list(pl.col("ofs_number")))
            .otherwise(pl.col("communes_desservies").fill_null(pl.lit([], pl.List(pl.Int32))))
            .alias("communes_desservies"),
            pl.col("tout_le_canton").fill_null(False),
        )
    )
