"""Dated field observations (the `observations` sheet), tied to the real events of the period.

Texts are written as a member would write them, never about an identifiable person: no names,
addresses, e-mails or phone numbers (the loader refuses those). Events and figures quoted come from
the team's domain notes (COVID-19 food queues, Ukrainian arrivals, inflation, the right to food, the
social-assistance reform…). The texts are data: etl/demo/observation_templates.csv, one row each
with its theme, dates, months, level and whether it is public.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from etl.demo.activity import DemoContext, period_end, period_start
from etl.demo.members import Member
from etl.demo.parameters import RISES

OBSERVATION_STREAM = 3


@dataclass(frozen=True)
class Template:
    theme: str
    start: dt.date | None  # first day the text makes sense (None: any time)
    end: dt.date | None
    level: str  # information | vigilance | alerte
    public: bool
    text: str  # may use {commune} and {pct}
    months: tuple[int, ...] = ()  # only in these months (empty: all)


TEMPLATES_FILE = Path(__file__).with_name("observation_templates.csv")


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def load_templates(path: Path = TEMPLATES_FILE) -> tuple[Template, ...]:
    """The texts members write, one row each in observation_templates.csv (`contexte`: the event
    or season the text belongs to; `mois`: the months it may be written in, separated by |)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Template(
                theme=row["theme"],
                start=_date(row["debut"]),
                end=_date(row["fin"]),
                level=row["niveau"],
                public=row["public"] == "oui",
                text=row["texte"],
                months=tuple(int(month) for month in row["mois"].split("|") if month),
            )
            for row in csv.DictReader(handle)
        )


# In file order: the order of the draws, so the same seed gives the same observations.
TEMPLATES = load_templates()


def _applies(template: Template, day: dt.date) -> bool:
    if template.start and day < template.start:
        return False
    if template.end and day > template.end:
        return False
    return not template.months or day.month in template.months


EVENT_CHANCE = 0.6  # a member notes an event of its themes in a period where it happens


def _day_in(template: Template, start: dt.date, end: dt.date, rng) -> dt.date | None:
    """A day of [start, end] when the template applies (None if there is none)."""
    low, high = max(start, template.start or start), min(end, template.end or end)
    if high < low:
        return None
    for _ in range(12):  # seasonal texts: retry until the month fits
        day = low + dt.timedelta(days=int(rng.integers((high - low).days + 1)))
        if _applies(template, day):
            return day
    return None


def member_observations(
    member: Member,
    context: DemoContext,
    period_code: str,
    today: dt.date,
    seat_ofs: int | None,
    rate: float,
) -> list[dict]:
    """Observations dated inside a period (and not after `today`).

    Each event or seasonal text of the member's themes that falls in the period is noted with
    probability EVENT_CHANCE; about `rate` routine texts are added.
    """
    rng = context.rng(member, OBSERVATION_STREAM * 100_000 + _period_number(period_code))
    start, end = period_start(period_code), min(period_end(period_code), today)
    if end < start:
        return []
    own = [t for t in TEMPLATES if t.theme in member.themes]
    chosen: list[tuple[dt.date, Template]] = []
    for template in own:
        if template.start is None and not template.months:
            continue
        day = _day_in(template, start, end, rng)
        if day is not None and rng.random() < EVENT_CHANCE:
            chosen.append((day, template))
    routine = [t for t in own if t.start is None and not t.months]
    for _ in range(int(rng.poisson(rate))):
        template = routine[int(rng.integers(len(routine)))] if routine else None
        day = _day_in(template, start, end, rng) if template else None
        if day is not None and all(template is not other for _, other in chosen):
            chosen.append((day, template))
    rows = [
        {
            "date": day,
            "theme": template.theme,
            "commune": seat_ofs if rng.random() < 0.5 else None,
            "niveau": template.level,
            "texte": template.text.format(
                commune=member.seat, pct=int(rng.integers(10, 45)), weeks=int(rng.integers(4, 12))
            ),
            "public": template.public,
        }
        for day, template in chosen
    ]
    rows += rise_observations(member, start, end)
    return sorted(rows, key=lambda row: (row["date"], row["theme"], row["texte"]))


RISE_TEXT = (
    "Afflux inhabituel ce trimestre de personnes venant de {commune} : nos permanences sont "
    "débordées et nous avons dû allonger les horaires."
)


def rise_observations(member: Member, start: dt.date, end: dt.date) -> list[dict]:
    """The public alert a member writes about an injected rise it sees (parameters.RISES), dated
    mid-quarter; no random draw, so the member's other observations stay the same."""
    rows = []
    for rise in RISES:
        year, quarter = int(rise.quarter[:4]), int(rise.quarter[-1])
        day = dt.date(year, 3 * quarter - 1, 15)
        if rise.reported_by == member.code and start <= day <= end:
            rows.append(
                {
                    "date": day,
                    "theme": rise.theme,
                    "commune": rise.ofs_number,
                    "niveau": "alerte",
                    "texte": RISE_TEXT.format(commune=rise.commune),
                    "public": True,
                }
            )
    return rows


def _period_number(period_code: str) -> int:
    """A stable integer per period, to seed its observations."""
    digits = "".join(ch for ch in period_code if ch.isdigit())
    return int(digits) * 10 + (1 if "T" in period_code else 0)
