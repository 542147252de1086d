"""Signals on the pages (DESIGN §5): « Ce qui a changé » on Vue d'ensemble, the commune brief's
section, the Signaux page's cards with their field observations, and the agreement line under a
field alert on Remontées du terrain. Everything reads the public file (queries/signals_*.sql)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import polars as pl
import streamlit as st
from streamlit.errors import StreamlitAPIException

from dashboard import data
from dashboard.components import observations, signals_charts, takeaway
from dashboard.components import signals_text as words
from dashboard.components.directory import md_escape
from dashboard.i18n import current_language, fmt_decimal, fmt_int, t
from etl.analysis.signals import CANTON, RULE, SIGNAL, STORED_QUARTERS
from etl.vocabulary import QUARTER

SIGNALS_PAGE = "views/signaux.py"
OVERVIEW_SHOWN = 4
STATUS_BADGES = {SIGNAL: "red", "attendu": "green"}


# --- data -----------------------------------------------------------------------------------------


def quarters() -> pl.DataFrame:
    """year, quarter, period, n_assessed, n_signals, n_series: the assessed quarters, newest first."""
    return data.run("signals_quarters")


def assessments(
    period: int | None, themes: Iterable[str] = (), lieux: Iterable[str] = (), signals_only=False
) -> pl.DataFrame:
    return data.run(
        "signals_list",
        period=period,
        themes=list(themes),
        lieux=list(lieux),
        statuses=[SIGNAL] if signals_only else [],
    )


def history(row: dict) -> pl.DataFrame:
    return data.run(
        "trends",
        step=QUARTER,
        metric="personnes",
        themes=[row["theme"]],
        lieux=[row["lieu"]],
        categories=["*"],
    )


# --- pieces ----------------------------------------------------------------------------------------


def link(label: str, page: str, params: dict[str, str], icon: str) -> None:
    # Outside the app's navigation (a test, an export) there is no page to link to.
    with contextlib.suppress(StreamlitAPIException):
        st.page_link(page, label=label, icon=icon, query_params=params)


def status_badge(row: dict) -> str:
    colour = STATUS_BADGES.get(row["status"], "gray")
    return f":{colour}-badge[{md_escape(words.status_text(row))}]"


def signal_card(
    row: dict, field: pl.DataFrame, *, key: str, show_history: bool = True, links: bool = True
) -> None:
    """One signal: what, where, the numbers, the year before, and the field beside it."""
    lang = current_language()
    with st.container(border=True):
        text, chart = st.columns([3, 2]) if show_history else (st.container(), None)
        with text:
            st.markdown(f"{status_badge(row)} **{md_escape(words.title(row, lang))}**")
            st.markdown(md_escape(words.numbers(row, lang)))
            st.caption(words.year_before(row, lang))
            field_notes(row, field, lang)
            if links and row["lieu"] != CANTON:
                link(
                    t("signals.brief_link"),
                    "views/fiche.py",
                    {"commune": str(row["ofs_number"])},
                    ":material/description:",
                )
        if chart is not None:
            with chart:
                series = history(row)
                takeaway.show(
                    signals_charts.history_figure(series, row, lang, height=260),
                    history_takeaway(series, row, lang),
                    key=f"{key}_history",
                    heading=False,
                )


def history_takeaway(series: pl.DataFrame, row: dict, lang: str) -> takeaway.Takeaway:
    """A signal's history as a chart to take away: its data (every published quarter, with what
    the assessed one's history predicted) and a sentence for readers who cannot see it."""
    series = series.sort("year", "quarter")
    assessed = (pl.col("year") == row["year"]) & (pl.col("quarter") == row["quarter"])
    expected = None if row["expected"] is None else round(row["expected"], 1)
    limit = None if row["upper_limit"] is None else words.within_limit(row["upper_limit"])
    table = series.select(
        pl.format("{}-T{}", "year", "quarter").alias(t("signals.col_quarter")),
        pl.col("value").alias(t("signals.col_observed")),
        pl.when(assessed).then(pl.lit(expected)).alias(t("signals.col_expected")),
        pl.when(assessed).then(pl.lit(limit)).alias(t("signals.col_limit")),
    )
    first = (
        words.quarter_label(series["year"][0], series["quarter"][0], lang) if len(series) else ""
    )
    last = words.quarter_label(row["year"], row["quarter"], lang)
    return takeaway.Takeaway(
        title=t("signals.history_title", series=words.title(row, lang)),
        summary=history_summary(series.filter(~assessed), row, first, lang),
        data=table,
        source=t("signals.source"),
        years=f"{first}–{last}" if first and first != last else last,
        notes=[t("signals.history_note")],
    )


def history_summary(before: pl.DataFrame, row: dict, first: str, lang: str) -> str:
    """The history in one sentence: its range before the assessed quarter, then that quarter."""
    last = words.quarter_label(row["year"], row["quarter"], lang)
    published = before.filter(pl.col("value").is_not_null())
    if published.is_empty():
        return t("signals.history_summary_short", last=last, observed=words.count_text(row, lang))
    return t(
        "signals.history_summary",
        first=first,
        last=last,
        low=fmt_int(published["value"].min(), lang),
        high=fmt_int(published["value"].max(), lang),
        observed=words.count_text(row, lang),
    )


def field_notes(row: dict, field: pl.DataFrame, lang: str) -> None:
    """The field observations beside a signal (same theme, place and quarter), or a line saying
    there are none."""
    notes = words.field_for(row, field.to_dicts())
    if not notes:
        st.caption(words.field_summary(row, lang))
        return
    st.markdown(f"**{t('signals.field_title')}**")
    for note in notes:
        observations.observation_card(note, lang, show_commune=row["lieu"] == CANTON)


def signal_lines(rows: pl.DataFrame) -> None:
    """Signals one line each: what, where, the numbers and the field's count (the overview and the
    brief stay short; the cards with their history and field notes are on Signaux)."""
    lang = current_language()
    lines = [
        t(
            "signals.signal_line",
            badge=status_badge(row),
            title=md_escape(words.title(row, lang)),
            numbers=md_escape(words.numbers(row, lang)),
            field=words.field_summary(row, lang),
        )
        for row in rows.iter_rows(named=True)
    ]
    st.markdown("\n".join(f"- {line}" for line in lines))


# --- Vue d'ensemble ----------------------------------------------------------------------------------


def changed_this_quarter() -> None:
    """« Ce qui a changé ce trimestre »: the latest quarter's signals, strongest first, one line
    each (the overview answers first: the cards with their field notes are on Signaux)."""
    known = quarters()
    if known.is_empty():
        return
    latest = known.row(0, named=True)
    quarter = words.quarter_label(latest["year"], latest["quarter"])
    st.markdown(f"##### {t('signals.overview_title', quarter=quarter)}")
    raised = assessments(latest["period"], signals_only=True)
    if raised.is_empty():
        st.caption(t("signals.overview_none", quarter=quarter, assessed=latest["n_assessed"]))
        return
    signal_lines(raised.head(OVERVIEW_SHOWN))
    st.caption(t("signals.overview_intro"))
    link(
        t("signals.overview_link", quarter=quarter, n=raised.height),
        SIGNALS_PAGE,
        {"trimestre": words.period_code(latest["period"])},
        ":material/campaign:",
    )


# --- Fiche communale -----------------------------------------------------------------------------------


def commune_signals(ofs_number: int) -> None:
    """The latest quarter's assessment of the commune's series (all themes together: its themes
    are not published by quarter), signals first."""
    known = quarters()
    if known.is_empty():
        return
    latest = known.row(0, named=True)
    # A section of the two-page profile like the others; each signal on one line (its history
    # and the field's notes are a click away on Signaux).
    st.subheader(
        t("signals.fiche_title", quarter=words.quarter_label(latest["year"], latest["quarter"])),
        divider="gray",
    )
    rows = assessments(latest["period"], lieux=[str(ofs_number)])
    if rows.is_empty():
        st.caption(t("signals.fiche_none"))
        return
    st.caption(t("signals.fiche_intro"))
    raised = rows.filter(pl.col("status") == SIGNAL)
    if not raised.is_empty():
        signal_lines(raised)
    others = rows.filter(pl.col("status") != SIGNAL)
    if not others.is_empty():
        st.markdown(other_assessments(others))
    link(
        t("signals.all_link"),
        SIGNALS_PAGE,
        {"trimestre": words.period_code(latest["period"]), "lieu": str(ofs_number)},
        ":material/campaign:",
    )


def other_assessments(rows: pl.DataFrame) -> str:
    """The series without a signal grouped by what their assessment says, one line per group
    (« Dans la norme : Tous les thèmes (+6 %) »): the brief keeps to its pages."""
    lang = current_language()
    groups: dict[str, list[str]] = {}
    for row in rows.iter_rows(named=True):
        name = md_escape(words.theme_label(row, lang))
        if row["ratio"] is not None:
            name += f" ({words.change(row, lang)})"
        groups.setdefault(row["status"], []).append(name)
    return "\n".join(
        f"- {t('signals.group_line', group=t(f'signals.group.{status}'), themes=', '.join(names))}"
        for status, names in groups.items()
    )


def assessment_rows(rows: pl.DataFrame, *, with_place: bool = False) -> pl.DataFrame:
    """The assessments as display text (static tables print whole; the grid sorts)."""
    lang = current_language()
    out = []
    for row in rows.iter_rows(named=True):
        shown = {t("signals.col_theme"): words.theme_label(row, lang)}
        if with_place:
            shown[t("signals.col_place")] = words.place(row, lang)
        shown[t("signals.col_status")] = words.status_text(row, lang)
        shown[t("signals.col_observed")] = words.count_text(row, lang)
        shown[t("signals.col_expected")] = words.expected_text(row, lang)
        shown[t("signals.col_limit")] = words.limit_text(row, lang)
        shown[t("signals.col_change")] = words.change(row, lang)
        out.append(shown)
    return pl.DataFrame(out)


# --- Remontées du terrain -----------------------------------------------------------------------------


def assessment_lookup() -> tuple[dict[tuple, dict], int | None]:
    """Every stored assessment by (period, theme, lieu), and the latest published quarter."""
    rows = assessments(None)
    lookup = {(row["period"], row["theme"], row["lieu"]): row for row in rows.iter_rows(named=True)}
    known = quarters()
    return lookup, None if known.is_empty() else int(known["period"].max())


# --- Méthodologie ----------------------------------------------------------------------------------

FORMULAS = (
    r"\log \mu_t = \alpha + \beta\,t + \gamma_{q(t)} \qquad \operatorname{Var}(Y_t) = \phi\,\mu_t",
    r"s_t = \frac{\tfrac{3}{2}\left(y_t^{2/3} - \hat\mu_t^{2/3}\right)}"
    r"{\hat\mu_t^{1/6}\sqrt{\hat\phi\,(1 - h_t)}} \qquad w_t \propto s_t^{-2}\ \text{si}\ s_t > %s",
    r"U = \left(\hat\mu_0^{2/3} + q_{1-\alpha;\,\nu}\,"
    r"\sqrt{\tfrac{4}{9}\,\hat\mu_0^{1/3}\left(\hat\phi + \hat\mu_0\,\widehat{\operatorname{Var}}"
    r"(\hat\eta_0)\right)}\right)^{3/2}",
)


def methodology() -> None:
    """The method of the signals, with the rule's settings as the code holds them."""
    rule = RULE
    st.header(t("signals.method_title"))
    st.markdown(
        t(
            "signals.method_text",
            years=rule.baseline_quarters // 4,
            history=rule.min_history,
            quarters=STORED_QUARTERS,
        )
    )
    st.latex(FORMULAS[0])
    st.latex(FORMULAS[1] % str(rule.reweight_above).replace(".", "{,}"))
    st.latex(FORMULAS[2])
    st.markdown(
        t(
            "signals.method_rule",
            level=fmt_decimal(100 * (1 - rule.alpha), 0),
            trend=fmt_decimal(100 * rule.trend_level, 0),
            minimum=rule.min_count,
        )
    )
