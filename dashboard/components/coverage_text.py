"""The Couverture thématique grid and map in words and tables: their summary sentences (text
alternatives), their data (CSV) and their table views (themes × communes; one theme's communes with
links to their brief, the map's keyboard path).

Coverage states are the published ones (etl/analysis/coverage.py): `local` (a service located in the
commune or naming it), `canton` (only services for the whole canton), `aucun` (none); a white zone
has no local service, a priority white zone also has a high need for the theme.
"""

from __future__ import annotations

import polars as pl

from dashboard.components import tables
from dashboard.i18n import current_language, fmt_decimal, fmt_int, fmt_rate, label, t

COLUMNS = {"rate": "rate", "local": "services_local", "need": "needs_index"}
STATES = ("local", "canton", "aucun")


def _state_counts(cells: pl.DataFrame) -> dict[str, str]:
    states = cells["coverage_state"].to_list()
    return {state: fmt_int(states.count(state)) for state in STATES}


def coverage_summary(cells: pl.DataFrame, measure: str) -> str:
    """What the grid shows in one sentence: the states counted, or where it is darkest, and how
    many theme × commune cells are white zones (priority ones for the need-weighted view)."""
    lang = current_language()
    white, total = int(cells["white_zone"].sum()), cells.height
    priority = int(cells["priority_white_zone"].sum())
    if measure == "state":
        return t(
            "couverture.summary.state",
            total=fmt_int(total),
            priority=fmt_int(priority),
            **_state_counts(cells),
        )
    column = COLUMNS[measure]
    shown = cells.filter(pl.col(column).is_not_null())
    if measure == "need":
        shown = shown.filter(pl.col("white_zone"))
    if shown.is_empty():
        return t("couverture.summary.white_only", white=fmt_int(white), total=fmt_int(total))
    top = shown.sort(column, "name", descending=[True, False]).row(0, named=True)
    if measure == "rate":
        value = fmt_rate(top["rate"], lang=lang)
    elif measure == "need":
        value = fmt_decimal(top["needs_index"], 2, lang)
    else:
        value = fmt_int(top[column])
    return t(
        f"couverture.summary.{'need' if measure == 'need' else 'text'}",
        theme=label(top, lang),
        commune=top["name"],
        value=value,
        white=fmt_int(white),
        total=fmt_int(total),
        priority=fmt_int(priority),
    )


def map_summary(of_theme: pl.DataFrame) -> str:
    """One theme's map in one sentence: communes per state, and the priority white zones."""
    priority = of_theme.filter(pl.col("priority_white_zone")).sort("name")["name"].to_list()
    text = t("couverture.summary.map", total=fmt_int(of_theme.height), **_state_counts(of_theme))
    if priority:
        return text + " " + t("couverture.summary.map_priority", names=", ".join(priority))
    return text + " " + t("couverture.summary.map_no_priority")


def coverage_data(cells: pl.DataFrame) -> pl.DataFrame:
    """Every theme × commune cell with its figures, columns named for readers."""
    lang = current_language()
    published = ~pl.col("persons_suppressed")
    states = {state: t(f"couverture.state_short.{state}") for state in STATES}
    return cells.sort("sort_order", "name").select(
        pl.col(f"label_{lang}").alias(t("couverture.col_theme")),
        pl.col("ofs_number").alias(t("besoins.csv.ofs")),
        pl.col("name").alias(t("besoins.col_commune")),
        pl.when(published).then(pl.col("persons")).alias(t("couverture.col_persons")),
        pl.col("rate").alias(t("besoins.col_rate")),
        pl.col("rate_lower").alias(t("besoins.csv.rate_lower")),
        pl.col("rate_upper").alias(t("besoins.csv.rate_upper")),
        pl.col("services_local").alias(t("couverture.measure_option.local")),
        pl.col("services_canton_wide").alias(t("couverture.csv.canton_wide")),
        pl.col("coverage_state").replace_strict(states).alias(t("couverture.map_legend")),
        pl.col("needs_index").alias(t("besoins.col_index")),
        pl.col("high_need").alias(t("couverture.csv.high_need")),
        pl.col("white_zone").alias(t("couverture.csv.white_zone")),
        pl.col("priority_white_zone").alias(t("couverture.csv.priority_white_zone")),
        pl.col("members_reporting").alias(t("couverture.col_reporting")),
    )


def _cell_text(row: dict, measure: str, lang: str) -> str:
    """What a cell of the grid shows, in words: « Local », a value, « × » for a white zone."""
    if measure == "state":
        return t(f"couverture.state_short.{row['coverage_state']}")
    if measure == "need":
        if not row["white_zone"]:
            return ""
        mark = " ×" if row["priority_white_zone"] else ""
        return fmt_decimal(row["needs_index"], 2, lang) + mark
    value = row[COLUMNS[measure]]
    text = (
        "–"
        if value is None
        else (fmt_decimal(value, 1, lang) if measure == "rate" else fmt_int(value, lang))
    )
    return text + (" ×" if row["white_zone"] else "")


def pivot(cells: pl.DataFrame, measure: str) -> pl.DataFrame:
    """Themes in rows, communes in columns: what the grid colours, as text."""
    lang = current_language()
    theme_header = t("couverture.col_theme")
    table: dict[str, dict[str, str]] = {}
    for row in cells.sort("sort_order", "name").to_dicts():
        theme = label(row, lang)
        table.setdefault(theme, {theme_header: theme})[row["name"]] = _cell_text(row, measure, lang)
    return pl.DataFrame(list(table.values()))


def map_table(of_theme: pl.DataFrame) -> None:
    """The map's table view: one theme's communes, priority white zones first, then white zones,
    each name linking to the commune's brief."""
    lang = current_language()
    order = pl.col("coverage_state").replace_strict({"aucun": 0, "canton": 1, "local": 2})
    ordered = of_theme.sort(
        pl.col("priority_white_zone"), order, "name", descending=[True, False, False]
    )
    rows = [
        {
            "ofs_number": row["ofs_number"],
            "name": row["name"],
            "state": t(f"couverture.state_short.{row['coverage_state']}"),
            "local": fmt_int(row["services_local"], lang),
            "canton": fmt_int(row["services_canton_wide"], lang),
            "need": fmt_decimal(row["needs_index"], 2, lang),
            "priority": t("couverture.yes") if row["priority_white_zone"] else "",
        }
        for row in ordered.to_dicts()
    ]
    columns = {
        "name": t("besoins.col_commune"),
        "state": t("couverture.map_legend"),
        "local": t("couverture.measure_option.local"),
        "canton": t("couverture.csv.canton_wide"),
        "need": t("besoins.col_index"),
        "priority": t("couverture.col_priority_short"),
    }
    tables.commune_link_table(rows, columns, lang=lang, caption=t("couverture.map_table_caption"))
