"""Detail that is not published (DESIGN §6, etl/disclosure/crossings.py): what a page says when a
selection asks for it, and the nearest published view it shows instead.

Communes (and persons living outside the canton or with no known commune) are published for all
members together, and their quarters for all themes together: crossing them with member categories
or quarterly themes would leave many cells of 1 to 4 persons. A page never draws an empty chart for
such a selection: it says what is not published, why, and what it shows instead.
"""

from __future__ import annotations

import streamlit as st

from dashboard.i18n import t
from etl.disclosure.crossings import DETAILED_PLACES, QUARTER, YEAR, unpublished_detail
from etl.vocabulary import ALL, CANTON

STEPS = {"year": YEAR, "quarter": QUARTER}
# What is shown instead of each unpublished detail for the same places (message keys).
WIDENED = {"place_category": "all_members", "place_quarter_theme": "all_themes"}


def trends_detail(chosen: dict[str, list[str]], step: str) -> list[str]:
    """What the Tendances selection asks that is not published ('place_category',
    'place_quarter_theme'); `chosen` maps theme, lieu and category to the codes asked."""
    return unpublished_detail(
        STEPS[step],
        places=any(place not in DETAILED_PLACES for place in chosen["lieu"]),
        themes=any(theme != ALL for theme in chosen["theme"]),
        categories=any(category != ALL for category in chosen["category"]),
    )


def nearest_trends(chosen: dict[str, list[str]], breakdown: str, step: str) -> tuple[dict, list]:
    """The published selection nearest to `chosen`, and what was changed (message keys): the
    series compared stay, a dimension held fixed is widened (the place becomes the canton when
    categories, or quarterly themes, are compared; otherwise all members, or all themes)."""
    missing = trends_detail(chosen, step)
    chosen = dict(chosen)
    if breakdown == "category" or (breakdown == "theme" and "place_quarter_theme" in missing):
        chosen["lieu"] = [CANTON]
        return chosen, ["canton_by_category" if breakdown == "category" else "canton_by_theme"]
    if "place_category" in missing:
        chosen["category"] = [ALL]
    if "place_quarter_theme" in missing:
        chosen["theme"] = [ALL]
    return chosen, [WIDENED[code] for code in missing]


def published_trends(chosen: dict[str, list[str]], breakdown: str, step: str) -> dict:
    """`chosen` when it is published; else the nearest published selection, with the notice."""
    missing = trends_detail(chosen, step)
    if not missing:
        return chosen
    nearest, changed = nearest_trends(chosen, breakdown, step)
    show_notice(missing, changed)
    return nearest


def notice_text(missing: list[str], changed: list[str]) -> str:
    """« Non publié à ce niveau de détail : … », why, what is shown instead and the other choices."""
    asked = t("common.unpublished.and").join(t(f"common.unpublished.asked.{m}") for m in missing)
    text = t("common.unpublished.notice", asked=asked)
    if changed:
        shown = t("common.unpublished.and").join(
            t(f"common.unpublished.shown.{c}") for c in changed
        )
        text += " " + t("common.unpublished.shown_instead", shown=shown)
    others = " ".join(t(f"common.unpublished.instead.{m}") for m in missing)
    return f"{text} {others}"


def show_notice(missing: list[str], changed: list[str]) -> None:
    st.info(notice_text(missing, changed), icon=":material/visibility_off:")
