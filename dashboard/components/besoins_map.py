"""What the Besoins et lacunes map says in words and in a table: its summary sentence (the map's
text alternative), its data (CSV) and its ranked table of communes with links to their brief (the
keyboard path: the map itself needs a mouse)."""

from __future__ import annotations

import polars as pl

from dashboard.components import needs, needs_text, tables
from dashboard.i18n import current_language, fmt_decimal, fmt_int, t

NAMED = 3  # communes named in a summary sentence


def _names(rows: list[dict]) -> str:
    return ", ".join(row["name"] for row in rows[:NAMED])


def gap_summary(gaps: pl.DataFrame) -> str:
    ranked = needs.under_served(gaps).to_dicts()
    if not ranked:
        return t("besoins.summary.gap_none")
    return t(
        "besoins.summary.gap",
        n=fmt_int(len(ranked)),
        total=fmt_int(gaps.height),
        names=_names(ranked),
    )


def _range_summary(rows: list[dict], value_text, canton: str) -> str:
    present = sorted((row for row in rows if row["value"] is not None), key=lambda r: r["value"])
    if not present:
        return t("besoins.summary.none")
    low, high = present[0], present[-1]
    return t(
        "besoins.summary.range",
        low=value_text(low["value"]),
        low_name=low["name"],
        high=value_text(high["value"]),
        high_name=high["name"],
        canton=canton,
    )


def activity_summary(gaps: pl.DataFrame, measure: str) -> str:
    """The measure drawn, in one sentence (under-served communes, or the range of rates)."""
    if measure == "gap":
        return gap_summary(gaps)
    column = "rate" if measure == "rate" else "unmet_rate"
    rows = gaps.select("name", pl.col(column).alias("value")).to_dicts()
    canton_rate = gaps["canton_rate"].drop_nulls()
    canton = needs_text.rate(canton_rate[0]) if measure == "rate" and canton_rate.len() else "–"
    return _range_summary(rows, needs_text.rate, canton)


def indicator_summary(profile: pl.DataFrame, code: str, names: dict[int, str]) -> str:
    rows = profile.filter(pl.col("indicator_code") == code).to_dicts()
    for row in rows:
        row["name"] = names.get(row["ofs_number"], str(row["ofs_number"]))
    canton = next((row["canton_value"] for row in rows if row["canton_value"] is not None), None)
    return _range_summary(
        rows,
        lambda value: needs_text.indicator_value(value, code),
        needs_text.indicator_value(canton, code),
    )


# --- data and ranked table ------------------------------------------------------------------------


def activity_data(gaps: pl.DataFrame) -> pl.DataFrame:
    """The 45 communes with every figure the map's tooltips show, columns named for readers."""
    published = ~pl.col("suppressed")
    return gaps.sort("name").select(
        pl.col("ofs_number").alias(t("besoins.csv.ofs")),
        pl.col("name").alias(t("besoins.col_commune")),
        pl.when(published).then(pl.col("persons")).alias(t("besoins.col_observed")),
        pl.col("rate").alias(t("besoins.col_rate")),
        pl.col("rate_lower").alias(t("besoins.csv.rate_lower")),
        pl.col("rate_upper").alias(t("besoins.csv.rate_upper")),
        pl.col("canton_rate").alias(t("besoins.csv.canton_rate")),
        pl.col("needs_index").alias(t("besoins.col_index")),
        pl.col("expected").alias(t("besoins.col_expected")),
        pl.col("gap_ratio").alias(t("besoins.col_ratio")),
        pl.col("gap_lower").alias(t("besoins.csv.ratio_lower")),
        pl.col("gap_upper").alias(t("besoins.csv.ratio_upper")),
        pl.col("under_served").alias(t("besoins.csv.under_served")),
        pl.col("unmet_requests").alias(t("besoins.col_unmet")),
        pl.col("population_estimated").alias(t("besoins.csv.estimated")),
    )


def indicator_data(profile: pl.DataFrame, code: str, names: dict[int, str]) -> pl.DataFrame:
    rows = profile.filter(pl.col("indicator_code") == code).sort("ofs_number")
    return rows.select(
        pl.col("ofs_number").alias(t("besoins.csv.ofs")),
        pl.col("ofs_number")
        .replace_strict(names, default=None, return_dtype=pl.String)
        .alias(t("besoins.col_commune")),
        pl.col("value_year").alias(t("besoins.csv.year")),
        pl.col("value").alias(t("besoins.value")),
        pl.col("lower").alias(t("besoins.csv.lower")),
        pl.col("upper").alias(t("besoins.csv.upper")),
        pl.col("canton_value").alias(t("besoins.csv.canton_value")),
    )


def ratio_text(row: dict) -> str:
    """'0,13 (0,09–0,19)': the observed / expected ratio and its 95 % interval."""
    if row["gap_ratio"] is None:
        return "–"
    interval = ""
    if row["gap_lower"] is not None and row["gap_upper"] is not None:
        interval = f" ({fmt_decimal(row['gap_lower'], 2)}–{fmt_decimal(row['gap_upper'], 2)})"
    return fmt_decimal(row["gap_ratio"], 2) + interval


def activity_table(gaps: pl.DataFrame, measure: str) -> None:
    """The communes ranked as the map colours them, each linking to its brief."""
    lang = current_language()
    if measure == "gap":
        ordered = gaps.sort("gap_ratio", "name", nulls_last=True)
    else:
        column = "rate" if measure == "rate" else "unmet_rate"
        ordered = gaps.sort(column, "name", descending=[True, False], nulls_last=True)
    rows = []
    for rank, row in enumerate(ordered.to_dicts(), start=1):
        estimated = row["population_estimated"]
        rows.append(
            {
                "rank": str(rank),
                "ofs_number": row["ofs_number"],
                "name": row["name"],
                "persons": needs_text.count(row["persons"], row["suppressed"]),
                "rate": needs_text.rate(row["rate"], estimated),
                "vs_canton": needs_text.comparison(row["rate_vs_canton"], short=True),
                "ratio": ratio_text(row),
                "unmet": needs_text.rate(row["unmet_rate"], estimated),
            }
        )
    columns = {
        "rank": t("besoins.col_rank"),
        "name": t("besoins.col_commune"),
        "persons": t("besoins.col_observed"),
        "rate": t("besoins.col_rate"),
        "vs_canton": t("besoins.col_vs_canton"),
        "ratio": t("besoins.col_ratio_ci"),
        "unmet": t("besoins.col_unmet_rate"),
    }
    tables.commune_link_table(
        rows,
        columns,
        lang=lang,
        caption=t("besoins.table_caption") + " " + t("needs.estimated_mark"),
    )


def indicator_table(profile: pl.DataFrame, code: str, names: dict[int, str]) -> None:
    lang = current_language()
    ordered = profile.filter(pl.col("indicator_code") == code).sort("value", descending=True)
    rows = [
        {
            "rank": str(rank),
            "ofs_number": row["ofs_number"],
            "name": names.get(row["ofs_number"], str(row["ofs_number"])),
            "value": needs_text.indicator_value(row["value"], code),
            "year": str(row["value_year"]),
            "ci": needs_text.ci(row["lower"], row["upper"]),
            "vs_canton": needs_text.comparison(row["judgement"], short=True),
        }
        for rank, row in enumerate(ordered.to_dicts(), start=1)
    ]
    columns = {
        "rank": t("besoins.col_rank"),
        "name": t("besoins.col_commune"),
        "value": t("besoins.value"),
        "year": t("besoins.csv.year"),
        "ci": t("besoins.col_ci"),
        "vs_canton": t("besoins.col_vs_canton"),
    }
    tables.commune_link_table(rows, columns, lang=lang, caption=t("besoins.table_caption"))
