"""The Couverture thématique grid in words and tables: its summary sentence (text alternative), its
data (CSV) and its table view (themes × communes)."""

from __future__ import annotations

import polars as pl

from dashboard.i18n import current_language, fmt_decimal, fmt_int, fmt_rate, label, t

COLUMNS = {"rate": "rate", "serving": "services_serving", "located": "services_located"}


def coverage_summary(cells: pl.DataFrame, measure: str) -> str:
    """Where the grid is darkest, and how many theme × commune cells are white zones."""
    lang = current_language()
    white, total = int(cells["white_zone"].sum()), cells.height
    column = COLUMNS[measure]
    shown = cells.filter(~pl.col("white_zone") & pl.col(column).is_not_null())
    if shown.is_empty():
        return t("couverture.summary.white_only", white=fmt_int(white), total=fmt_int(total))
    top = shown.sort(column, "name", descending=[True, False]).row(0, named=True)
    value = fmt_rate(top["rate"], lang=lang) if measure == "rate" else fmt_int(top[column])
    return t(
        "couverture.summary.text",
        theme=label(top, lang),
        commune=top["name"],
        value=value,
        white=fmt_int(white),
        total=fmt_int(total),
    )


def coverage_data(cells: pl.DataFrame) -> pl.DataFrame:
    """Every theme × commune cell with its figures, columns named for readers."""
    lang = current_language()
    published = ~pl.col("persons_suppressed")
    return cells.sort("sort_order", "name").select(
        pl.col(f"label_{lang}").alias(t("couverture.col_theme")),
        pl.col("ofs_number").alias(t("besoins.csv.ofs")),
        pl.col("name").alias(t("besoins.col_commune")),
        pl.when(published).then(pl.col("persons")).alias(t("couverture.col_persons")),
        pl.col("rate").alias(t("besoins.col_rate")),
        pl.col("rate_lower").alias(t("besoins.csv.rate_lower")),
        pl.col("rate_upper").alias(t("besoins.csv.rate_upper")),
        pl.col("services_located").alias(t("couverture.measure_option.located")),
        pl.col("services_serving").alias(t("couverture.measure_option.serving")),
        pl.col("members_reporting").alias(t("couverture.col_reporting")),
        pl.col("white_zone").alias(t("couverture.csv.white_zone")),
    )


def pivot(cells: pl.DataFrame, measure: str) -> pl.DataFrame:
    """Themes in rows, communes in columns: the value the grid colours (text, « × » white zone)."""
    lang = current_language()
    column = COLUMNS[measure]

    def shown(row: dict) -> str:
        if row["white_zone"]:
            return "×"
        value = row[column]
        if value is None:
            return "–"
        return fmt_decimal(value, 1, lang) if measure == "rate" else fmt_int(value, lang)

    rows = cells.sort("sort_order", "name").to_dicts()
    theme_header = t("couverture.col_theme")
    table: dict[str, dict[str, str]] = {}
    for row in rows:
        table.setdefault(label(row, lang), {theme_header: label(row, lang)})[row["name"]] = shown(
            row
        )
    return pl.DataFrame(list(table.values()))
