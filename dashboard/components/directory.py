"""The members' directory (« Qui fait quoi ») as data: opening days, search criteria, filters.

The directory is small (one row per service of each member's latest submission that lists services),
so the page loads it once per database version and filters it here, in pure Polars functions that the
tests call directly. Opening days are parsed from the free-text `horaires` (« lu-ve 9h-12h »,
« du mardi au samedi », « 7j/7 », « tous les jours sauf dimanche »).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from dashboard.i18n import t_or
from etl.opening_hours import DAY_CODES, ICAL_DAYS, ical_days, open_days  # noqa: F401
from etl.text import normalise_key, normalise_key_expr

SCOPE_SERVES = "dessert"  # located in the commune, serving it, or serving the whole canton
SCOPE_LOCATED = "situe"  # located in the commune
SCOPES = (SCOPE_SERVES, SCOPE_LOCATED)


# --- criteria and filters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Criteria:
    """What the visitor asks for; an empty tuple means « no filter » on that field."""

    themes: tuple[str, ...] = ()
    communes: tuple[int, ...] = ()
    scope: str = SCOPE_SERVES
    types: tuple[str, ...] = ()  # lower-case type labels
    languages: tuple[str, ...] = ()  # lower-case language names
    day: int | None = None  # 0 = Monday
    text: str = ""


def _clean_lower(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.to_lowercase()


def prepare(directory: pl.DataFrame) -> pl.DataFrame:
    """Add the columns filters need: opening days, normalised type and languages, search text."""
    day_sets = {value: sorted(open_days(value)) for value in directory["horaires"].unique()}
    haystack_columns = [
        "nom",
        "member_name",
        "theme_label_fr",
        "theme_label_en",
        "type",
        "commune_name",
        "adresse",
        "horaires",
        "contact",
        "conditions_acces",
    ]
    return directory.with_columns(
        pl.col("horaires")
        .replace_strict(day_sets, default=[], return_dtype=pl.List(pl.Int64))
        .alias("jours"),
        _clean_lower(pl.col("type")).alias("type_key"),
        pl.col("langues").list.eval(_clean_lower(pl.element())).alias("langues_keys"),
        normalise_key_expr(
            pl.concat_str(
                [
                    *[pl.col(c).fill_null("") for c in haystack_columns],
                    pl.col("langues").list.join(" ").fill_null(""),
                ],
                separator=" ",
            )
        ).alias("search_text"),
    )


def _commune_condition(communes: tuple[int, ...], scope: str) -> pl.Expr:
    located = pl.col("ofs_number").is_in(list(communes))
    if scope == SCOPE_LOCATED:
        return located.fill_null(False)
    serves = pl.col("communes_desservies").list.eval(pl.element().is_in(list(communes))).list.any()
    return located.fill_null(False) | serves.fill_null(False) | pl.col("tout_le_canton")


def filter_directory(prepared: pl.DataFrame, criteria: Criteria) -> pl.DataFrame:
    """The services matching every criterion (`prepared` comes from `prepare`)."""
    conditions: list[pl.Expr] = []
    if criteria.themes:
        conditions.append(pl.col("theme").is_in(list(criteria.themes)))
    if criteria.communes:
        conditions.append(_commune_condition(criteria.communes, criteria.scope))
    if criteria.types:
        conditions.append(pl.col("type_key").is_in(list(criteria.types)).fill_null(False))
    if criteria.languages:
        wanted = list(criteria.languages)
        conditions.append(
            pl.col("langues_keys").list.eval(pl.element().is_in(wanted)).list.any().fill_null(False)
        )
    if criteria.day is not None:
        conditions.append(pl.col("jours").list.contains(criteria.day))
    for word in normalise_key(criteria.text).split():
        conditions.append(pl.col("search_text").str.contains(word, literal=True))
    if not conditions:
        return prepared
    return prepared.filter(pl.all_horizontal(conditions))


def type_options(prepared: pl.DataFrame) -> list[str]:
    return sorted(prepared["type_key"].drop_nulls().unique().to_list())


def language_options(prepared: pl.DataFrame) -> list[str]:
    return sorted(prepared["langues_keys"].explode().drop_nulls().unique().to_list())


def with_served_names(
    frame: pl.DataFrame, communes: pl.DataFrame, canton_label: str
) -> pl.DataFrame:
    """Add `desservies` as text: « tout le canton » or the served communes' names."""
    names = dict(zip(communes["ofs_number"].to_list(), communes["name"].to_list(), strict=True))
    served = frame["communes_desservies"].to_list()
    everywhere = frame["tout_le_canton"].to_list()
    text = [
        canton_label
        if whole
        else ", ".join(
            sorted((names.get(ofs, str(ofs)) for ofs in (numbers or [])), key=normalise_key)
        )
        for numbers, whole in zip(served, everywhere, strict=True)
    ]
    return frame.with_columns(pl.Series("desservies", text, dtype=pl.String))


def services_by_commune(frame: pl.DataFrame, communes: pl.DataFrame) -> pl.DataFrame:
    """Per commune: services located there and services serving it (canton-wide ones included)."""
    located = (
        frame.filter(pl.col("ofs_number").is_not_null())
        .group_by("ofs_number")
        .agg(pl.len().alias("situes"))
    )
    canton_wide = frame.filter(pl.col("tout_le_canton")).height
    serving = (
        frame.filter(~pl.col("tout_le_canton"))
        .select(
            pl.int_range(pl.len()).alias("row"),
            pl.concat_list(
                pl.col("communes_desservies").fill_null([]),
                pl.col("ofs_number").cast(pl.Int32),
            )
            .list.drop_nulls()
            .list.unique()
            .alias("ofs_number"),
        )
        .explode("ofs_number")
        .drop_nulls("ofs_number")
        .group_by("ofs_number")
        .agg(pl.len().alias("desservant"))
    )
    return (
        communes.select("ofs_number", "name")
        .with_columns(pl.col("ofs_number").cast(pl.Int32))
        .join(
            located.with_columns(pl.col("ofs_number").cast(pl.Int32)), on="ofs_number", how="left"
        )
        .join(
            serving.with_columns(pl.col("ofs_number").cast(pl.Int32)), on="ofs_number", how="left"
        )
        .with_columns(
            pl.col("situes").fill_null(0).cast(pl.Int64),
            (pl.col("desservant").fill_null(0) + canton_wide).cast(pl.Int64),
        )
        .sort("name")
    )


# --- rendering --------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
MAX_CARDS = 30


def md_escape(value: object) -> str:
    """Member-written text shown as Markdown literally (no links, emphasis or LaTeX from `$`)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


def full_address(row: dict, place: str) -> str:
    """The address followed by its commune, unless the address already names it."""
    address = (row.get("adresse") or "").strip()
    if not address:
        return place
    if normalise_key(place) in normalise_key(address):
        return address
    return f"{address}, {place}"


def service_type_label(value: str | None, lang: str) -> str | None:
    """A service type in the reader's language: the template's suggested types are translated; a
    member's own wording is shown as written, its first letter capitalised."""
    text = (value or "").strip()
    if not text:
        return None
    key = normalise_key(text).replace(" ", "_")
    return t_or(f"directory.service_type.{key}", text[:1].upper() + text[1:], lang)


def with_service_type_labels(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The `type` column in the reader's language (for the screen; exports keep members' words)."""
    labels = {value: service_type_label(value, lang) for value in frame["type"].unique().to_list()}
    return frame.with_columns(pl.col("type").replace_strict(labels, return_dtype=pl.String))


def export_frame(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The selection as people read it: one row per service, lists as text, stable column names."""
    label = "theme_label_en" if lang == "en" else "theme_label_fr"
    return frame.select(
        pl.col("nom").alias("service"),
        pl.col("member_name").alias("membre"),
        pl.col("member_code").alias("code_membre"),
        pl.col("theme").alias("theme_code"),
        pl.col(label).alias("theme"),
        pl.col("type"),
        pl.col("commune_name").alias("commune"),
        pl.col("ofs_number").alias("commune_ofs"),
        pl.col("desservies").alias("communes_desservies"),
        pl.col("tout_le_canton"),
        pl.col("adresse"),
        pl.col("horaires"),
        pl.col("contact"),
        pl.col("conditions_acces"),
        pl.col("langues").list.join(", ").alias("langues"),
        pl.col("capacite"),
        pl.col("period_code").alias("periode_soumission"),
        pl.col("is_demo").alias("demo"),
    )
