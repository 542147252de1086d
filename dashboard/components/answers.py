"""The overview's answers first (issue #17): what changed this year, where needs are least met,
the latest public field alerts — three short columns above the fold.

Where needs are least met reads the published gap analysis (docs/ECARTS.md): the communes below the
funnel plot's 95 % limit, adjusted for overdispersion, of the needs-based expectation — the flags
of Besoins et lacunes, ranked the same way (beyond 99.8 % first, then the lowest ratio).
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data
from dashboard.components.directory import md_escape
from dashboard.i18n import DEFAULT_LANGUAGE, current_language, fmt_change, fmt_date, fmt_int, t
from etl.analysis import funnel

RISES, FALLS = 3, 2
THEMES_SHOWN, COMMUNES_NAMED = 4, 3
ALERTS_SHOWN = 3
MIN_PERSONS = 20  # a change on fewer persons is noise, not news


def _lang_suffix() -> str:
    lang = current_language()
    return "" if lang == DEFAULT_LANGUAGE else f"&lang={lang}"


def theme_changes(year: int) -> tuple[list[dict], list[dict]]:
    """The themes that rose and fell most since the year before (published counts only)."""
    trends = data.run("overview_theme_trends")
    now = trends.filter(pl.col("year") == year).select("theme", "label_fr", "label_en", "personnes")
    before = trends.filter(pl.col("year") == year - 1).select(
        "theme", pl.col("personnes").alias("previous")
    )
    changes = (
        now.join(before, on="theme")
        .filter((pl.col("previous") >= MIN_PERSONS) & pl.col("personnes").is_not_null())
        .with_columns((100 * (pl.col("personnes") / pl.col("previous") - 1)).alias("change"))
    )
    rises = changes.filter(pl.col("change") > 0).sort("change", descending=True).head(RISES)
    falls = changes.filter(pl.col("change") < 0).sort("change").head(FALLS)
    return rises.to_dicts(), falls.to_dicts()


def least_met_by_theme(flagged: pl.DataFrame) -> list[dict]:
    """Per theme, how many communes are under-served and the clearest ones, the themes with most of
    them first. `flagged`: the rows of overview_least_met."""
    order = pl.col("flag").replace_strict(funnel.FLAG_ORDER, default=len(funnel.FLAG_ORDER))
    ranked = flagged.with_columns(order.alias("_order")).sort("_order", "ratio", "name")
    themes = ranked.group_by("theme", "label_fr", "label_en", maintain_order=True).agg(
        pl.len().alias("n"), pl.col("name").head(COMMUNES_NAMED).alias("names")
    )
    return themes.sort(pl.col("n"), "label_fr", descending=[True, False]).to_dicts()


@st.cache_data(max_entries=8, show_spinner=False)
def least_met(year: int, version: str) -> list[dict]:
    """`least_met_by_theme` of the year; `version` (the database's) is the cache key: a new
    publication computes again."""
    return least_met_by_theme(data.run("overview_least_met", year=year))


def changes_column(year: int) -> None:
    st.markdown(f"##### {t('overview.answers.changes_title', year=year, before=year - 1)}")
    rises, falls = theme_changes(year)
    lang = current_language()
    if not rises and not falls:
        st.caption(t("overview.answers.changes_none"))
        return
    lines = [
        t(
            "overview.answers.change_item",
            theme=row[f"label_{lang}"],
            change=fmt_change(row["change"], lang=lang),
            persons=fmt_int(row["personnes"], lang),
        )
        for row in [*rises, *falls]
    ]
    st.markdown("\n".join(f"- {line}" for line in lines))


def least_met_column(year: int, version: str) -> None:
    st.markdown(f"##### {t('overview.answers.least_met_title', year=year)}")
    rows = least_met(year, version)
    lang = current_language()
    if not rows:
        st.caption(t("overview.answers.least_met_none"))
        return
    total = data.communes().height
    lines = []
    for row in rows[:THEMES_SHOWN]:
        link = f"besoins-et-lacunes?theme={row['theme']}&annee={year}{_lang_suffix()}"
        lines.append(
            t(
                "overview.answers.least_met_item",
                theme=row[f"label_{lang}"],
                link=link,
                n=fmt_int(row["n"], lang),
                total=fmt_int(total, lang),
                names=", ".join(row["names"]),
            )
        )
    st.markdown("\n".join(f"- {line}" for line in lines))
    st.caption(t("overview.answers.least_met_note"))


def alerts_column() -> None:
    st.markdown(f"##### {t('overview.answers.alerts_title')}")
    feed = data.run(
        "observations_feed",
        themes=[],
        communes=[],
        levels=["alerte"],
        date_from=None,
        date_to=None,
        words=[],
    ).head(ALERTS_SHOWN)
    lang = current_language()
    if feed.is_empty():
        st.caption(t("overview.answers.alerts_none"))
        return
    lines = []
    for row in feed.to_dicts():
        where = row["commune_name"] or t("overview.answers.whole_canton")
        text = row["texte"] if len(row["texte"]) <= 140 else row["texte"][:139] + "…"
        lines.append(
            f"**{fmt_date(row['obs_date'], lang)} · {md_escape(row[f'theme_label_{lang}'])} · "
            f"{md_escape(where)}** — {md_escape(text)}"
        )
    st.markdown("\n".join(f"- {line}" for line in lines))
    st.markdown(t("overview.answers.alerts_link", link=f"remontees?gravite=alerte{_lang_suffix()}"))


def show(year: int, version: str) -> None:
    """The three answers side by side (stacked on a phone)."""
    changes, least, alerts = st.columns([1, 1.2, 1.2], gap="medium")
    with changes:
        changes_column(year)
    with least:
        least_met_column(year, version)
    with alerts:
        alerts_column()
