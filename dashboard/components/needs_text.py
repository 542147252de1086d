"""Wording of the methods' results: intervals, comparisons, flags — shared by pages and the brief."""

from __future__ import annotations

import functools
from html import escape
from pathlib import Path

import polars as pl

from dashboard.i18n import (
    MISSING,
    SUPPRESSED,
    current_language,
    fmt_decimal,
    fmt_int,
    fmt_pct,
    label,
    t,
)

ESTIMATED_MARK = "*"
DEFINITIONS = Path(__file__).resolve().parents[2] / "data" / "indicator_definitions.csv"
# Colour-blind-safe comparison colours (Okabe-Ito blue / vermillion for better / worse; two blues for
# a neutral higher / lower, as in the PHE Fingertips colour-blind palette), grey for similar.
COMPARISON_COLOURS = {
    "mieux": "#0072B2",
    "moins_bien": "#D55E00",
    "similaire": "#BDBDBD",
    "plus_eleve": "#08306B",
    # Darker than the grey of « similar »: told apart by lightness too (tests/test_colour_vision.py).
    "plus_bas": "#6BAED6",
    "non_compare": "#FFFFFF",
}


def ci(lower: float | None, upper: float | None, digits: int = 1) -> str:
    """'IC 95 % 2,5 – 4,0' (or '–' when there is no interval)."""
    if lower is None or upper is None:
        return MISSING
    return t("needs.ci", lower=fmt_decimal(lower, digits), upper=fmt_decimal(upper, digits))


def comparison(code: str | None, *, short: bool = False) -> str:
    table = "comparison_short" if short else "comparison"
    return t(f"needs.{table}.{code or 'non_compare'}")


def count(value: int | None, suppressed: bool) -> str:
    """A published count: 'X' when disclosure control withheld it."""
    if suppressed:
        return SUPPRESSED
    return fmt_int(value)


def rate(value: float | None, estimated: bool = False, digits: int = 1) -> str:
    """A rate, marked with * when it rests on an estimated population."""
    if value is None:
        return MISSING
    return fmt_decimal(value, digits) + (ESTIMATED_MARK if estimated else "")


def indicator_value(value: float | None, code: str) -> str:
    """Indicator values in their unit: percentages, francs, counts, decimals."""
    if value is None:
        return MISSING
    if code.endswith("_pct"):
        return fmt_pct(value, 1)
    if code.endswith("_chf") or code.endswith("_n") or code.startswith("pop_density"):
        return fmt_int(value)
    if code.endswith("_count"):
        # A score out of a maximum (CATI-GE: « 5 sur 6 »): the bare « 5 » said nothing.
        out_of = count_units().get(code, {}).get(current_language())
        return f"{fmt_int(value)} {out_of}" if out_of else fmt_int(value)
    return fmt_decimal(value, 2)


@functools.cache
def count_units() -> dict[str, dict[str, str]]:
    """The « sur N » units of the count indicators, by language (data/indicator_definitions.csv)."""
    definitions = pl.read_csv(DEFINITIONS)
    return {
        row["code"]: {"fr": row["unit_fr"], "en": row["unit_en"]}
        for row in definitions.filter(pl.col("code").str.ends_with("_count")).to_dicts()
        if row["unit_fr"]
    }


def indicator_flags(year_inferred: bool, carried_forward: bool) -> list[str]:
    flags = []
    if year_inferred:
        flags.append(t("needs.year_inferred"))
    if carried_forward:
        flags.append(t("needs.carried_forward"))
    return flags


def theme_label(code: str, themes: list[dict]) -> str:
    """The theme's label in the current language; '*' is every theme."""
    if code == "*":
        return t("common.all_themes")
    for row in themes:
        if row["code"] == code:
            return label(row)
    return code


def legend_html(categories: tuple[str, ...]) -> str:
    """Coloured dots with their meaning (the spine charts' legend), as inline HTML."""
    dot = (
        "display:inline-block;width:.8rem;height:.8rem;border-radius:50%;"
        "border:1px solid #333;margin:0 .25rem 0 .8rem;vertical-align:middle;background:{}"
    )
    # Each dot and its word in one unbreakable span: a narrow screen wraps between entries only.
    return " ".join(
        f'<span style="white-space:nowrap">'
        f'<span style="{dot.format(COMPARISON_COLOURS[code])}"></span>'
        f"{escape(comparison(code, short=True))}</span>"
        for code in categories
    )
