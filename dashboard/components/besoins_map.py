"""What the Besoins et lacunes map and funnel plot say in words and in a table: their tooltips, their
summary sentences (the charts' text alternative), their data (CSV) and the ranked table of communes
with links to their brief (the keyboard path: the map and the funnel plot need a mouse).

Flags are the published ones (funnel limits adjusted for overdispersion, etl/analysis/funnel.py).
"""

from __future__ import annotations

import polars as pl

from dashboard.components import needs, needs_text, tables
from dashboard.i18n import current_language, fmt_decimal, fmt_int, label, t
from etl.analysis import funnel

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


def funnel_summary(gaps: pl.DataFrame) -> str:
    """How many communes fall outside the adjusted limits, on each side, and the clearest ones."""
    flags = gaps["gap_flag"].to_list()
    assessed = sum(flag != funnel.NOT_ASSESSED for flag in flags)
    if not assessed:
        return t("besoins.summary.funnel_none")
    below = needs.under_served(gaps).to_dicts()
    text = t(
        "besoins.summary.funnel",
        assessed=fmt_int(assessed),
        below=fmt_int(len(below)),
        below_998=fmt_int(flags.count(funnel.BELOW_998)),
        above=fmt_int(sum(flag in needs.HIGH_FLAGS for flag in flags)),
    )
    if below:
        text += " " + t("besoins.summary.funnel_names", names=_names(below))
    return text


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


# --- tooltips -------------------------------------------------------------------------------------


def _population_line(row: dict, year: int) -> str:
    text = t("besoins.tip_population", year=year, population=fmt_int(row["population"]))
    if row["population_estimated"]:
        text += f" ({t('needs.population_estimated')})"
    return text


def activity_tooltip(row: dict, year: int) -> str:
    """Name, persons served, rate with CI against the canton, gap, unmet requests, population."""
    lines = [f"<b>{row['name']}</b>"]
    persons = needs_text.count(row["persons"], row["suppressed"])
    lines.append(t("besoins.tip_persons", count=persons))
    if row["suppressed"]:
        lines.append(t("needs.suppressed"))
    elif row["rate"] is not None:
        estimated = row["population_estimated"]
        lines.append(
            t(
                "besoins.tip_rate",
                rate=needs_text.rate(row["rate"], estimated),
                ci=needs_text.ci(row["rate_lower"], row["rate_upper"]),
            )
        )
        lines.append(
            t(
                "besoins.tip_canton",
                rate=fmt_decimal(row["canton_rate"]),
                comparison=needs_text.comparison(row["rate_vs_canton"], short=True),
            )
        )
    if row["expected"] is not None and not row["suppressed"]:
        lines.append(
            t(
                "besoins.tip_expected",
                expected=fmt_decimal(row["expected"]),
                index=fmt_decimal(row["needs_index"], 2),
            )
        )
        lines.append(
            t(
                "besoins.tip_gap",
                ratio=fmt_decimal(row["gap_ratio"], 2),
                ci=needs_text.ci(row["gap_lower"], row["gap_upper"], 2),
            )
        )
        lines.append(t(f"needs.flag.{row['gap_flag']}"))
    if row["unmet_requests"] is not None:
        lines.append(
            t(
                "besoins.tip_unmet",
                count=fmt_int(row["unmet_requests"]),
                rate=needs_text.rate(row["unmet_rate"], row["population_estimated"]),
            )
        )
    lines.append(_population_line(row, year))
    return "<br>".join(lines)


def indicator_tooltip(row: dict, name: str) -> str:
    lang = current_language()
    value = needs_text.indicator_value(row["value"], row["indicator_code"])
    lines = [
        f"<b>{name}</b>",
        t("besoins.tip_indicator", label=label(row, lang), year=row["value_year"], value=value),
    ]
    if row["canton_value"] is not None:
        lines.append(
            t(
                "besoins.tip_indicator_ci",
                ci=needs_text.ci(row["lower"], row["upper"]),
                canton=needs_text.indicator_value(row["canton_value"], row["indicator_code"]),
                comparison=needs_text.comparison(row["judgement"], short=True),
            )
        )
    lines += needs_text.indicator_flags(row["year_inferred"], row["carried_forward"])
    return "<br>".join(lines)


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
        pl.col("gap_limit_95_lower").alias(t("besoins.csv.limit_95_lower")),
        pl.col("gap_limit_95_upper").alias(t("besoins.csv.limit_95_upper")),
        pl.col("gap_limit_998_lower").alias(t("besoins.csv.limit_998_lower")),
        pl.col("gap_limit_998_upper").alias(t("besoins.csv.limit_998_upper")),
        pl.col("gap_flag")
        .replace_strict({flag: t(f"needs.flag_short.{flag}") for flag in funnel.FLAGS})
        .alias(t("besoins.col_level")),
        pl.col("unmet_requests").alias(t("besoins.col_unmet")),
        pl.col("population_estimated").alias(t("besoins.csv.estimated")),
        pl.col("estimate_matters").alias(t("besoins.csv.estimate_matters")),
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
        mark = needs_text.ESTIMATED_MARK if row["estimate_matters"] else ""
        rows.append(
            {
                "rank": str(rank),
                "ofs_number": row["ofs_number"],
                "name": row["name"] + mark,
                "persons": needs_text.count(row["persons"], row["suppressed"]),
                "rate": needs_text.rate(row["rate"]),
                "vs_canton": needs_text.comparison(row["rate_vs_canton"], short=True),
                "ratio": ratio_text(row),
                "flag": t(f"needs.flag_short.{row['gap_flag']}"),
                "unmet": needs_text.rate(row["unmet_rate"]),
            }
        )
    columns = {
        "rank": t("besoins.col_rank"),
        "name": t("besoins.col_commune"),
        "persons": t("besoins.col_observed"),
        "rate": t("besoins.col_rate"),
        "vs_canton": t("besoins.col_vs_canton"),
        "ratio": t("besoins.col_ratio_ci"),
        "flag": t("besoins.col_level"),
        "unmet": t("besoins.col_unmet_rate"),
    }
    caption = t("besoins.table_caption")
    if gaps["estimate_matters"].any():
        caption += " " + t("needs.estimated_mark_matters")
    tables.commune_link_table(rows, columns, lang=lang, caption=caption)


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
