"""Tendances: time series by theme, commune and member category (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import charts, tables, takeaway, unpublished
from dashboard.i18n import (
    SUPPRESSED,
    current_language,
    fmt_change,
    fmt_int,
    fmt_rate,
    label,
    labeller,
    t,
    t_or,
)
from etl.vocabulary import ALL, CANTON, PLACES_OUTSIDE_COMMUNES, PUBLISHED, QUARTER, YEAR

METRICS = (
    "personnes",
    "prestations",
    "nouvelles_personnes",
    "demandes_non_satisfaites",
    "liste_attente",
)
BREAKDOWNS = ("theme", "lieu", "category", "none")
MEASURES = ("count", "rate")
STEPS = {"year": YEAR, "quarter": QUARTER}  # URL `pas` → the period kind of the query trends
MAX_SERIES = 8  # the Okabe-Ito palette has eight colours
SUMMARY_SERIES = 3  # series named in the chart's summary sentence
OUTSIDE = PLACES_OUTSIDE_COMMUNES
RENAMED_KEYS = {"indicateur": "variable"}  # a needs indicator on Besoins (ARCHITECTURE § Naming)


# --- labels ----------------------------------------------------------------------------------------


def theme_labeller() -> Callable[[str], str]:
    labels = {row["code"]: label(row) for row in data.themes().to_dicts()}
    labels[ALL] = t("common.all_themes")
    return lambda code: labels.get(code, code)


def place_labeller() -> Callable[[str], str]:
    labels = {str(row["ofs_number"]): row["name"] for row in data.communes().to_dicts()}
    labels |= {ALL: t("common.all_places"), CANTON: t("common.canton")}
    labels |= {code: t(f"common.{code}") for code in OUTSIDE}  # hors_canton, non_renseignee
    return lambda code: labels.get(code, code)


def category_labeller() -> Callable[[str], str]:
    lang = current_language()
    everyone = t("common.all_members", lang=lang)
    return lambda code: everyone if code == ALL else t_or(f"common.category.{code}", code, lang)


# --- filters ---------------------------------------------------------------------------------------


def place_options() -> list[str]:
    return [ALL, CANTON, *(str(n) for n in data.communes()["ofs_number"]), *OUTSIDE]


def default_themes(year: int | None) -> list[str]:
    """The five themes with most persons served in the latest complete year."""
    trends = data.run("overview_theme_trends")
    if year is None or trends.is_empty():
        return []
    top = (
        trends.filter(pl.col("year") == year)
        .sort("personnes", descending=True, nulls_last=True)
        .head(5)
    )
    return top["theme"].to_list()


# Longer than 60 lines: one widget per filter, in the order they appear on the
# page, and the filters that depend on the chosen breakdown; to be split with the page's rework.
def choose_filters(info: data.DatabaseInfo) -> dict:
    theme_name, place_name, category_name = theme_labeller(), place_labeller(), category_labeller()
    themes = [ALL, *data.themes()["code"]]
    places = place_options()
    categories = [ALL, *data.member_categories()]

    # Two rows: what is counted and compared, the fixed dimensions; then the series compared and
    # how (count or rate, year or quarter). Compact, so that the chart starts above the fold.
    top, second_row = st.columns(4), st.columns([2.4, 1, 1.1])
    metric = state.select(
        "variable",
        METRICS,
        default="personnes",
        label=t("trends.metric"),
        format_func=labeller("common.metric"),
        container=top[0],
    )
    breakdown = state.select(
        "ventilation",
        BREAKDOWNS,
        default="theme",
        label=t("trends.breakdown"),
        format_func=labeller("trends.breakdown_by"),
        container=top[1],
    )
    measure = state.select(
        "mesure",
        MEASURES,
        default="count",
        label=t("trends.measure"),
        format_func=labeller("trends.measure_name"),
        widget="radio",
        container=second_row[1],
        help=t("trends.measure_help"),
    )
    step = state.select(
        "pas",
        STEPS,
        default="year",
        label=t("trends.step"),
        format_func=labeller("trends.step_name"),
        widget="radio",
        container=second_row[2],
        help=t("trends.step_help"),
    )

    # The dimensions not compared are fixed to one value each.
    compare_row = second_row[0]
    second = iter([top[2], top[3], second_row[0]])
    chosen = {"theme": [ALL], "lieu": [ALL], "category": [ALL]}
    if breakdown == "theme":
        chosen["theme"] = state.multiselect(
            "themes",
            themes,
            default=default_themes(info.latest_complete_year) or [ALL],
            label=t("trends.compare_themes"),
            format_func=theme_name,
            max_selections=MAX_SERIES,
            container=compare_row,
        )
    elif breakdown == "lieu":
        chosen["lieu"] = state.multiselect(
            "communes",
            places,
            default=[CANTON],
            label=t("trends.compare_places"),
            format_func=place_name,
            max_selections=MAX_SERIES,
            container=compare_row,
        )
    elif breakdown == "category":
        chosen["category"] = state.multiselect(
            "categories",
            categories,
            default=categories[1 : MAX_SERIES + 1] or [ALL],
            label=t("trends.compare_categories"),
            format_func=category_name,
            max_selections=MAX_SERIES,
            container=compare_row,
        )
    if breakdown != "theme":
        chosen["theme"] = [
            state.select(
                "theme",
                themes,
                default=ALL,
                label=t("trends.theme"),
                format_func=theme_name,
                container=next(second),
            )
        ]
    if breakdown != "lieu":
        chosen["lieu"] = [
            state.select(
                "lieu",
                places,
                default=ALL,
                label=t("trends.place"),
                format_func=place_name,
                container=next(second),
            )
        ]
    if breakdown != "category":
        chosen["category"] = [
            state.select(
                "categorie",
                categories,
                default=ALL,
                label=t("trends.category"),
                format_func=category_name,
                container=next(second),
            )
        ]
    return {
        "metric": metric,
        "breakdown": breakdown,
        "measure": measure,
        "step": step,
        "chosen": chosen,
        "names": (theme_name, place_name, category_name),
    }


# --- data ------------------------------------------------------------------------------------------


def rate_places(places: list[str]) -> list[str]:
    """Rates need a population: 'every place' becomes the canton's 45 communes."""
    return list(dict.fromkeys(CANTON if p == ALL else p for p in places if p not in OUTSIDE))


def load_series(choice: dict) -> pl.DataFrame:
    places = choice["chosen"]["lieu"]
    if choice["measure"] == "rate":
        places = rate_places(places)
    return data.run(
        "trends",
        step=STEPS[choice["step"]],
        metric=choice["metric"],
        themes=choice["chosen"]["theme"],
        lieux=places,
        categories=choice["chosen"]["category"],
    )


def series_key(breakdown: str) -> str:
    return {"theme": "theme", "lieu": "lieu", "category": "category"}.get(breakdown, "theme")


# --- display ---------------------------------------------------------------------------------------


def series_name(choice: dict, code: str) -> str:
    theme_name, place_name, category_name = choice["names"]
    breakdown = choice["breakdown"]
    if breakdown == "lieu":
        return place_name(code)
    if breakdown == "category":
        return category_name(code)
    return theme_name(code)


def point_text(row: dict, measure: str, lang: str) -> str:
    value = (
        fmt_rate(row["rate_per_1000"], lang=lang)
        if measure == "rate"
        else fmt_int(row["value"], lang)
    )
    text = f"{row['period']} : {value}" if lang == "fr" else f"{row['period']}: {value}"
    if row["change_pct"] is not None:
        text += f" ({fmt_change(row['change_pct'], lang=lang)})"
    if measure == "rate" and row["population_status"] not in (None, PUBLISHED):
        text += f"<br>{t('trends.estimated_population')}"
    return text


def with_position(frame: pl.DataFrame, quarterly: bool) -> pl.DataFrame:
    if quarterly:
        prefix = "T" if current_language() == "fr" else "Q"
        return frame.with_columns(
            (pl.col("year") + (pl.col("quarter") - 0.5) / 4).alias("x"),
            pl.format("{}{} {}", pl.lit(prefix), "quarter", "year").alias("period"),
        )
    return frame.with_columns(
        pl.col("year").cast(pl.Float64).alias("x"), pl.col("year").cast(pl.String).alias("period")
    )


def chart_title(choice: dict, frame: pl.DataFrame) -> str:
    periods = frame.sort("x")["period"].to_list()
    years = periods[0] if periods[0] == periods[-1] else f"{periods[0]}–{periods[-1]}"
    metric = t(f"common.metric.{choice['metric']}")
    per = t("trends.chart.per") if choice["measure"] == "rate" else ""
    if choice["breakdown"] == "none":
        return t("trends.chart.title_plain", metric=metric, per=per, years=years)
    breakdown = t(f"trends.breakdown_phrase.{choice['breakdown']}")
    return t("trends.chart.title", metric=metric, per=per, breakdown=breakdown, years=years)


def shown_value(row: dict, measure: str, lang: str) -> str:
    if row["suppressed"]:
        return SUPPRESSED
    if measure == "rate":
        return fmt_rate(row["rate_per_1000"], lang=lang)
    return fmt_int(row["value"], lang)


def chart_summary(frame: pl.DataFrame, choice: dict) -> str:
    """One sentence: each series' latest value and its change since the first period shown."""
    measure, lang = choice["measure"], current_language()
    key = series_key(choice["breakdown"])
    column = "rate_per_1000" if measure == "rate" else "value"
    last_x = frame["x"].max()
    latest = frame.filter(pl.col("x") == last_x).sort(column, descending=True, nulls_last=True)
    # The largest series at the latest period: the sentence stays short (the table has them all).
    shown = [code for code in latest[key].to_list() if code in choice["chosen"][key]]
    items = []
    for code in shown[:SUMMARY_SERIES]:
        rows = frame.filter(pl.col(key) == code).sort("x").to_dicts()
        last = [r for r in rows if r["x"] == last_x]
        if not last:
            continue
        name, value = series_name(choice, code), shown_value(last[0], measure, lang)
        known = [r for r in rows if r[column] is not None and not r["suppressed"]]
        if last[0]["suppressed"] or len(known) < 2 or not known[0][column]:
            items.append(t("trends.chart.summary_item_new", name=name, value=value))
            continue
        change = 100 * (known[-1][column] - known[0][column]) / known[0][column]
        items.append(
            t(
                "trends.chart.summary_item",
                name=name,
                value=value,
                change=fmt_change(change, lang=lang),
                first=known[0]["period"],
            )
        )
    if not items:
        return t("trends.chart.summary_none")
    period = frame.filter(pl.col("x") == last_x)["period"][0]
    return t(
        "trends.chart.summary",
        period=period,
        items=" ; ".join(items) if lang == "fr" else "; ".join(items),
    )


def chart_data(frame: pl.DataFrame, choice: dict) -> pl.DataFrame:
    """The chart's points, one row per series and period, columns named for readers (CSV)."""
    key = series_key(choice["breakdown"])
    rows = []
    for code in choice["chosen"][key]:
        for row in frame.filter(pl.col(key) == code).sort("x").to_dicts():
            published = not row["suppressed"]
            rows.append(
                {
                    t("trends.col_series"): series_name(choice, code),
                    t("trends.chart.col_period"): row["period"],
                    t("trends.chart.col_value"): row["value"] if published else None,
                    t("trends.chart.col_rate"): row["rate_per_1000"] if published else None,
                    t("trends.chart.col_change"): row["change_pct"] if published else None,
                    t("trends.chart.col_suppressed"): row["suppressed"],
                    t("trends.chart.col_estimated"): row["population_status"]
                    not in (None, PUBLISHED),
                }
            )
    return pl.DataFrame(rows)


# Longer than 60 lines: the chart's series, notes and take-away, one page section read
# top to bottom; the series and the notes depend on the same choices.
def build_chart(frame: pl.DataFrame, choice: dict, extra_notes: list[str]) -> None:
    quarterly = choice["step"] == "quarter"
    measure, lang = choice["measure"], current_language()
    key = series_key(choice["breakdown"])
    frame = with_position(frame, quarterly)
    order = choice["chosen"][key]
    series = []
    for code in order:
        rows = frame.filter(pl.col(key) == code).sort("x").to_dicts()
        if not rows:
            continue
        y = [r["rate_per_1000"] if measure == "rate" else r["value"] for r in rows]
        series.append(
            charts.Series(
                label=series_name(choice, code),
                x=[r["x"] for r in rows],
                y=y,
                estimated=[
                    measure == "rate" and r["population_status"] not in (None, PUBLISHED)
                    for r in rows
                ],
                hover=[point_text(r, measure, lang) for r in rows],
            )
        )
    ticks = None
    if quarterly:
        # One label per year, in the middle of its four quarters (the hover names the quarter).
        years = sorted(frame["year"].unique().to_list())
        ticks = ([year + 0.5 for year in years], [str(year) for year in years])
    y_title = t(f"common.metric.{choice['metric']}")
    if measure == "rate":
        y_title = t("trends.rate_axis", metric=y_title)
    fig = charts.line_chart(
        series,
        y_title=y_title,
        x_ticks=ticks,
        quarterly=quarterly,
        y_format=",.1~f" if measure == "rate" else ",d",
        height=400,
    )
    notes = [t("trends.note_sum")]
    if quarterly:
        notes.append(t("trends.note_quarterly"))
    if measure == "rate":
        notes.append(t("trends.note_rate"))
        if frame.filter(pl.col("population_status") != PUBLISHED).height:
            notes.append(t("common.chart.estimated_marker"))
    if choice["metric"] == "liste_attente":
        notes.append(t("trends.note_stock"))
    if frame["suppressed"].any():
        notes.append(t("common.chart.suppressed_note"))
    notes += extra_notes
    source = t(
        "common.source.activity_population" if measure == "rate" else "common.source.activity"
    )
    spec = takeaway.Takeaway(
        title=chart_title(choice, frame),
        summary=chart_summary(frame, choice),
        data=chart_data(frame, choice),
        source=source,
        years=charts.frame_years(frame),
        notes=notes,
    )
    takeaway.show(fig, spec, key="trends_chart")


def change_table(frame: pl.DataFrame, choice: dict) -> None:
    """Values by series and period with the change on the year before, as text cells."""
    quarterly = choice["step"] == "quarter"
    measure, lang = choice["measure"], current_language()
    key = series_key(choice["breakdown"])
    frame = with_position(frame, quarterly).sort("x")
    # Newest first: the latest figures are what a reader looks for, and a wide table (44 quarters)
    # must not hide them behind a sideways scroll.
    periods = frame.select("x", "period").unique().sort("x", descending=True)["period"].to_list()
    rows = []
    for code in choice["chosen"][key]:
        cells = {r["period"]: r for r in frame.filter(pl.col(key) == code).to_dicts()}
        if not cells:
            continue
        row = {"series": series_name(choice, code)}
        for period in periods:
            cell = cells.get(period)
            if cell is None:
                row[period] = "–"
                continue
            if cell["suppressed"]:
                row[period] = SUPPRESSED
                continue
            value = (
                fmt_rate(cell["rate_per_1000"], lang=lang)
                if measure == "rate"
                else fmt_int(cell["value"], lang)
            )
            change = cell["change_pct"]
            row[period] = value if change is None else f"{value} ({fmt_change(change, lang=lang)})"
        rows.append(row)
    if not rows:
        return
    table = pl.DataFrame(rows)
    tables.show_table(
        table,
        column_config={
            "series": st.column_config.TextColumn(t("trends.col_series"), pinned=True),
            **{p: st.column_config.TextColumn(p) for p in periods},
        },
        caption=t("trends.table_caption"),
        key="trends_table",
    )


# --- page ------------------------------------------------------------------------------------------

state.follow_renamed(RENAMED_KEYS)
info = data.db_info()
st.title(t("trends.title"))
st.markdown(t("trends.intro"))
if info.latest_complete_year is None:
    st.info(t("common.no_activity"))
    st.stop()

choice = choose_filters(info)
choice["chosen"] = unpublished.published_trends(
    choice["chosen"], choice["breakdown"], choice["step"]
)
frame = load_series(choice)
if choice["step"] == "quarter" and frame.is_empty():
    st.info(t("trends.no_quarterly"))
    choice["step"] = "year"
    frame = load_series(choice)
place_note = choice["measure"] == "rate" and choice["chosen"]["lieu"] != rate_places(
    choice["chosen"]["lieu"]
)

if frame.is_empty() or frame["value"].drop_nulls().is_empty():  # nothing, or only « X »
    st.info(t("trends.all_withheld" if frame.height else "trends.no_data"))
else:
    build_chart(frame, choice, [t("trends.rate_places_note")] if place_note else [])
    st.subheader(t("trends.table_title"))
    change_table(frame, choice)
with st.expander(t("trends.events_title")):
    st.markdown(t("trends.events_text"))
