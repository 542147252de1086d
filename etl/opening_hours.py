"""Opening days read from a service's free-text hours (« lu-ve 9h-12h », « du mardi au samedi »,
« 7j/7 », « tous les jours sauf dimanche »): used by the directory's day filter and its HSDS export."""

from __future__ import annotations

import re

from etl.text import normalise_key

# Monday = 0 … Sunday = 6, as datetime.date.weekday().
DAY_CODES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_WORDS = {
    **{name: index for index, name in enumerate(DAY_CODES)},
    **{name[:3]: index for index, name in enumerate(DAY_CODES)},
    **{name[:2]: index for index, name in enumerate(DAY_CODES)},
}
_DAY = r"(?:" + "|".join(sorted(_DAY_WORDS, key=len, reverse=True)) + r")"
# 'lu-ve', 'lundi au vendredi', 'ma à sa' (accents are gone after normalisation: 'a' for 'à').
_RANGE = re.compile(rf"\b({_DAY})\b\.?\s*(?:-|–|—|au|a|à)\s*\b({_DAY})\b")
_SINGLE = re.compile(rf"\b({_DAY})\b")
_EVERY_DAY = re.compile(
    r"7\s*j?\s*/\s*7|tous les (?:jours|soirs|matins)|chaque (?:jour|soir|matin)"
    r"|24\s*h?\s*/\s*24|quotidien"
)
_WEEKDAYS = re.compile(r"\ben semaine\b|\bjours ouvrables\b")
_WEEKEND = re.compile(r"week[ -]?end|fin de semaine")
_EXCEPT = re.compile(r"\bsauf\b([^;.\n]*)")


def _lower_for_days(text: str) -> str:
    """Lower case without accents, keeping hyphens and slashes that mark ranges."""
    return " ".join(
        normalise_key(word) if word.isalpha() else word.lower() for word in text.split()
    )


def _days_in(text: str) -> set[int]:
    days: set[int] = set()
    for first, last in _RANGE.findall(text):
        start, end = _DAY_WORDS[first], _DAY_WORDS[last]
        span = (end - start) % 7
        days.update((start + step) % 7 for step in range(span + 1))
    for word in _SINGLE.findall(_RANGE.sub(" ", text)):
        days.add(_DAY_WORDS[word])
    if _EVERY_DAY.search(text):
        days.update(range(7))
    if _WEEKDAYS.search(text):
        days.update(range(5))
    if _WEEKEND.search(text):
        days.update((5, 6))
    return days


def open_days(horaires: str | None) -> frozenset[int]:
    """The weekdays (0 = Monday) a service says it is open; empty when the text names none."""
    if not horaires:
        return frozenset()
    text = _lower_for_days(horaires)
    excluded: set[int] = set()
    for clause in _EXCEPT.findall(text):
        excluded |= _days_in(clause)
    kept = _days_in(_EXCEPT.sub(" ", text))
    return frozenset(kept - excluded)


def ical_days(days: frozenset[int]) -> str:
    """{0, 4} -> 'MO,FR' (RFC 5545 BYDAY, as HSDS schedules expect)."""
    return ",".join(ICAL_DAYS[day] for day in sorted(days))
