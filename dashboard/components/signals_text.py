"""Signals in words (pages, bulletin): quarter labels, the numbers of a signal, why a series was not
assessed, and whether a field alert agrees with the numbers. No Streamlit: the bulletin uses it too.

A row is one of `queries/signals_list.sql`: its count is empty when withheld, and then no number of
the row is shown (DESIGN §6).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from dashboard.i18n import (
    MISSING,
    SUPPRESSED,
    fmt_change,
    fmt_count,
    fmt_int,
    label,
    t,
)
from etl.analysis.signals import (
    CANTON,
    EXPECTED,
    RULE,
    SHORT_HISTORY,
    SIGNAL,
    observation_series,
)
from etl.vocabulary import ALL

QUARTER_CODE = re.compile(r"^(\d{4})-T([1-4])$")
ALERT_LEVELS = ("vigilance", "alerte")


def quarter_code(year: int, quarter: int) -> str:
    """The quarter as the URL and the files write it, whatever the language: '2024-T4'."""
    return f"{year}-T{quarter}"


def period_of(year: int, quarter: int) -> int:
    return year * 4 + quarter - 1


def period_code(period: int) -> str:
    return quarter_code(period // 4, period % 4 + 1)


def parse_quarter_code(code: str) -> tuple[int, int] | None:
    match = QUARTER_CODE.match(code or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def quarter_label(year: int, quarter: int, lang: str | None = None) -> str:
    """'T4 2024' (fr) or 'Q4 2024' (en)."""
    return t("signals.quarter", lang=lang, year=year, quarter=quarter)


def period_label(period: int, lang: str | None = None) -> str:
    return quarter_label(period // 4, period % 4 + 1, lang)


def place(row: dict, lang: str | None = None) -> str:
    return t("signals.canton", lang=lang) if row["lieu"] == CANTON else str(row["commune_name"])


def theme_label(row: dict, lang: str | None = None) -> str:
    """The series' theme: a commune's series is all themes together (its themes are not
    published by quarter)."""
    return t("common.all_themes", lang=lang) if row["theme"] == ALL else label(row, lang)


def title(row: dict, lang: str | None = None) -> str:
    return t("signals.card_title", lang=lang, theme=theme_label(row, lang), place=place(row, lang))


def within_limit(upper_limit: float) -> int:
    """The largest count that raises no signal (a signal is a count above the limit)."""
    return math.floor(upper_limit)


def change(row: dict, lang: str | None = None) -> str:
    """The published count against the expected one, in percent: '+64 %'."""
    if row["ratio"] is None:
        return MISSING
    return fmt_change(100 * (row["ratio"] - 1), digits=0, lang=lang)


def numbers(row: dict, lang: str | None = None) -> str:
    """'1 234 persons served; 800 expected (up to 1 010 within the usual range): +54 %'."""
    if row["withheld"]:
        return t("signals.numbers_withheld", lang=lang, symbol=SUPPRESSED)
    if row["expected"] is None:
        return t("signals.numbers_only", lang=lang, observed=fmt_int(row["observed"], lang))
    return t(
        "signals.numbers",
        lang=lang,
        observed=fmt_int(row["observed"], lang),
        expected=fmt_int(row["expected"], lang),
        limit=fmt_int(within_limit(row["upper_limit"]), lang),
        change=change(row, lang),
    )


def year_before(row: dict, lang: str | None = None) -> str:
    """The same quarter a year before, and the members who reported it when their number changed."""
    previous = fmt_count(row["observed_year_before"], row["observed_year_before"] is None, lang)
    text = t("signals.year_before", lang=lang, value=previous)
    # More members reporting the cell: part of the rise may be reporting, not need.
    if row["n_members"] > row["n_members_year_before"]:
        text += " " + t(
            "signals.members_changed",
            lang=lang,
            now=row["n_members"],
            before=row["n_members_year_before"],
        )
    return text


def count_text(row: dict, lang: str | None = None) -> str:
    return fmt_count(row["observed"], row["withheld"], lang)


def expected_text(row: dict, lang: str | None = None) -> str:
    return MISSING if row["expected"] is None else fmt_int(row["expected"], lang)


def limit_text(row: dict, lang: str | None = None) -> str:
    return (
        MISSING if row["upper_limit"] is None else fmt_int(within_limit(row["upper_limit"]), lang)
    )


def status_text(row: dict, lang: str | None = None) -> str:
    """What the assessment says, or why there is none."""
    status = row["status"]
    if status == SHORT_HISTORY:
        return t(
            "signals.status.historique_court",
            lang=lang,
            n=row["n_periods"],
            required=RULE.min_history,
        )
    return t(f"signals.status.{status}", lang=lang, symbol=SUPPRESSED)


def field_summary(row: dict, lang: str | None = None) -> str:
    alerts, vigilance = row["n_field_alerts"], row["n_field_vigilance"]
    if not alerts and not vigilance:
        return t("signals.field_none", lang=lang)
    return t("signals.field_some", lang=lang, alerts=alerts, vigilance=vigilance)


# --- a field observation beside the numbers -------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    kind: str  # confirmed | not_seen | not_assessed | not_published | no_activity
    text: str


def agreement(
    observation: dict,
    assessments: dict[tuple, dict],
    last_period: int | None,
    lang: str | None = None,
) -> Agreement | None:
    """Whether the numbers agree with a « vigilance » or « alerte » observation: the assessments of
    the same quarter of the series it is compared with (its commune all themes together, and its
    theme in the canton: `observation_series`), a signal in either confirming it. `assessments`
    maps (period, theme, lieu) to signals_list rows (every quarter a field observation concerns is
    assessed at publish); `last_period` is the latest published quarter. None for an
    « information » (nothing to confirm)."""
    if observation["niveau"] not in ALERT_LEVELS:
        return None
    day: dt.date = observation["obs_date"]
    period = period_of(day.year, (day.month - 1) // 3 + 1)
    quarter = period_label(period, lang)
    if last_period is None or period > last_period:
        return Agreement("not_published", t("signals.agree.not_published", lang, quarter=quarter))
    series = observation_series(observation["theme"], observation["ofs_number"])
    rows = [assessments[key] for key in ((period, *s) for s in series) if key in assessments]
    if not rows:
        return Agreement("no_activity", t("signals.agree.no_activity", lang, quarter=quarter))
    for kind, status in (("confirmed", SIGNAL), ("not_seen", EXPECTED)):
        found = [row for row in rows if row["status"] == status]
        if found:
            text = "; ".join(
                t(
                    f"signals.agree.{kind}",
                    lang,
                    quarter=quarter,
                    series=title(row, lang),
                    numbers=numbers(row, lang),
                )
                for row in found[: 1 if kind == "confirmed" else len(found)]
            )
            return Agreement(kind, text)
    row = rows[0]
    text = t(
        "signals.agree.not_assessed",
        lang,
        quarter=quarter,
        series=title(row, lang),
        why=status_text(row, lang),
    )
    return Agreement("not_assessed", text)


def field_for(row: dict, field: list[dict]) -> list[dict]:
    """The « vigilance » and « alerte » observations (signals_field_observations rows of the same
    quarter) of an assessment's theme and place: for the canton, the theme's wherever made; for a
    commune's all-themes series, every theme's made there."""
    return [
        note
        for note in field
        if row["theme"] in (ALL, note["theme"])
        and (row["lieu"] == CANTON or note["ofs_number"] == row["ofs_number"])
    ]
