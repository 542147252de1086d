"""The commune brief as a profile (the model: Fingertips' area profile), shared by the Fiche
communale page and its HTML / PDF export.

A headline sentence generated from the figures; then one row per indicator and per theme: value,
95 % interval, canton, statistical neighbours (where the data has them), the comparison in colour and
the spine chart of that row, on the same line. One HTML table serves the page (st.html) and the
printed file, so that what is seen is what is printed.

Neighbours: the « Voisins » column compares with the commune's 5 statistical neighbours (published
with the gap analysis, etl/analysis/neighbours.py): indicators, the mean of the neighbours' values
(`neighbours_value`, in the indicator's unit); themes, their pooled rate per 1,000 residents
(`neighbours_rate`) and, under the commune's ratio, their pooled observed / expected ratio
(`neighbours_ratio`). A table without any neighbours' value has no such column.

The « * » of an estimated population is shown only where it changes a reading (`estimate_matters`:
a 3 % error in the population would change the flag), as on Besoins et lacunes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import polars as pl

from dashboard.components import needs_text, spine
from dashboard.components.needs import CommuneBrief
from dashboard.i18n import MISSING, current_language, fmt_decimal, fmt_int, label, t
from etl.analysis import funnel

NEIGHBOURS = "neighbours_value"  # indicators
NEIGHBOURS_RATE, NEIGHBOURS_RATIO = "neighbours_rate", "neighbours_ratio"  # themes
SPINE_WIDTH, SPINE_HEIGHT = 170, 20


@dataclass(frozen=True)
class ProfileRow:
    label: str
    value: str
    interval: str
    canton: str
    neighbours: str | None
    category: str  # a key of needs_text.COMPARISON_COLOURS
    comparison: str
    spine: spine.SpineRow | None
    extra: tuple[str, ...] = ()  # more cells (themes: persons; the gap ratio is `gap`)
    gap: str | None = (
        None  # themes: the observed / expected ratio (HTML: neighbours' ratio under it)
    )
    flag: str = ""  # a caveat shown after the label (year inferred, estimated population…)


def _interval(lower, upper, formatter) -> str:
    if lower is None or upper is None:
        return MISSING
    return f"{formatter(lower)}\u00a0–\u00a0{formatter(upper)}"


def _neighbours(row: dict, formatter, column: str = NEIGHBOURS) -> str | None:
    value = row.get(column)
    return None if value is None else formatter(value)


def estimated_mark(row: dict) -> str:
    """« * » where an estimated population could change the row's flag, else nothing."""
    return needs_text.ESTIMATED_MARK if row.get("estimate_matters") else ""


def gap_html(row: dict) -> str:
    """The commune's observed / expected ratio (▼ below the adjusted 95 % limit), its neighbours'
    pooled ratio under it in small type."""
    if row["gap_ratio"] is None:
        return escape(MISSING)
    text = escape(fmt_decimal(row["gap_ratio"], 2) + (" ▼" if row["under_served"] else ""))
    if row.get(NEIGHBOURS_RATIO) is not None:
        near = t("fiche.neighbours_short", value=fmt_decimal(row[NEIGHBOURS_RATIO], 2))
        text += f'<br><span class="near">{escape(near)}</span>'
    return text


def indicator_rows(brief: CommuneBrief) -> list[ProfileRow]:
    lang = current_language()
    rows = []
    spines = {row.label: row for row in indicator_spine(brief)}
    for row in brief.indicators.sort("indicator_code").to_dicts():
        code = row["indicator_code"]

        def shown(value, code=code):
            return needs_text.indicator_value(value, code)

        name = f"{label(row, lang)} ({row['value_year']})"
        rows.append(
            ProfileRow(
                label=name,
                value=shown(row["value"]),
                interval=_interval(row["lower"], row["upper"], shown),
                canton=shown(row["canton_value"]),
                neighbours=_neighbours(row, shown),
                category=row["judgement"] or "non_compare",
                comparison=needs_text.comparison(row["judgement"], short=True),
                spine=spines.get(name),
                flag=", ".join(
                    needs_text.indicator_flags(row["year_inferred"], row["carried_forward"])
                ),
            )
        )
    return rows


def theme_rows(brief: CommuneBrief) -> list[ProfileRow]:
    lang = current_language()
    spines = {row.label: row for row in theme_spine(brief)}
    rows = []
    for row in brief.themes.to_dicts():
        name = label(row, lang)
        rows.append(
            ProfileRow(
                label=name,
                value=needs_text.rate(row["rate"]) + estimated_mark(row),
                interval=_interval(row["rate_lower"], row["rate_upper"], fmt_decimal),
                canton=fmt_decimal(row["canton_rate"]),
                neighbours=_neighbours(row, fmt_decimal, NEIGHBOURS_RATE),
                category=row["rate_vs_canton"] or "non_compare",
                comparison=needs_text.comparison(row["rate_vs_canton"], short=True),
                spine=spines.get(name),
                extra=(needs_text.count(row["persons"], row["persons_suppressed"]),),
                gap=gap_html(row),
            )
        )
    return rows


# --- spine geometry (also drawn as a whole chart) ---------------------------------------------


def indicator_spine(brief: CommuneBrief) -> list[spine.SpineRow]:
    """Spine rows of the indicators that have a canton value (the others are in the table only)."""
    lang = current_language()
    rows = []
    for row in brief.indicators.sort("indicator_code").to_dicts():
        if row["canton_value"] is None or row["value"] is None:
            continue
        code = row["indicator_code"]

        def shown(value, code=code):
            return needs_text.indicator_value(value, code)

        lowest, q1, q3, highest, value = spine.positions(
            row["value"],
            row["canton_value"],
            (row["spread_min"], row["spread_q1"], row["spread_q3"], row["spread_max"]),
            reverse=row["polarity"] == "haut_defavorable",
        )
        value_text = needs_text.indicator_value(row["value"], code)
        canton_text = needs_text.indicator_value(row["canton_value"], code)
        rows.append(
            spine.SpineRow(
                label=f"{label(row, lang)} ({row['value_year']})",
                value_text=value_text,
                canton_text=canton_text,
                category=row["judgement"],
                lowest=lowest,
                q1=q1,
                q3=q3,
                highest=highest,
                value=value,
                hover=(
                    f"<b>{label(row, lang)}</b> ({row['value_year']})<br>"
                    + t(
                        "needs.pair",
                        name=brief.name,
                        value=f"{value_text} ({_interval(row['lower'], row['upper'], shown)})",
                    )
                    + "<br>"
                    + t("needs.pair", name=t("needs.canton"), value=canton_text)
                    + "<br>"
                    + needs_text.comparison(row["judgement"])
                ),
            )
        )
    return rows


def theme_spine(brief: CommuneBrief) -> list[spine.SpineRow]:
    lang = current_language()
    rows = []
    for row in brief.themes.to_dicts():
        if row["rate"] is None or row["canton_rate"] is None or row["spread_min"] is None:
            continue
        lowest, q1, q3, highest, value = spine.positions(
            row["rate"],
            row["canton_rate"],
            (row["spread_min"], row["spread_q1"], row["spread_q3"], row["spread_max"]),
            reverse=False,
        )
        value_text = needs_text.rate(row["rate"]) + estimated_mark(row)
        rows.append(
            spine.SpineRow(
                label=label(row, lang),
                value_text=value_text,
                canton_text=fmt_decimal(row["canton_rate"]),
                category=row["rate_vs_canton"],
                lowest=lowest,
                q1=q1,
                q3=q3,
                highest=highest,
                value=value,
                hover=(
                    f"<b>{label(row, lang)}</b><br>"
                    + t(
                        "needs.pair",
                        name=brief.name,
                        value=f"{value_text} ({needs_text.ci(row['rate_lower'], row['rate_upper'])})",
                    )
                    + "<br>"
                    + t("needs.pair", name=t("needs.canton"), value=fmt_decimal(row["canton_rate"]))
                    + "<br>"
                    + needs_text.comparison(row["rate_vs_canton"])
                ),
            )
        )
    return rows


def estimate_note(brief: CommuneBrief) -> str | None:
    """The « * » explained once, when a theme's or a year's row carries it."""
    marked = any(
        frame.height and frame["estimate_matters"].any() for frame in (brief.themes, brief.trend)
    )
    return t("needs.estimated_mark_matters") if marked else None


# --- headline ---------------------------------------------------------------------------------------


def headline(brief: CommuneBrief) -> str:
    """Two or three sentences that say what the figures show, generated from them."""
    parts = [_themes_sentence(brief), _total_sentence(brief), _indicators_sentence(brief)]
    return " ".join(part for part in parts if part)


def _themes_sentence(brief: CommuneBrief) -> str:
    themes = brief.themes.filter(brief.themes["gap_ratio"].is_not_null())
    if themes.is_empty():
        return ""
    under = themes.filter(themes["under_served"].fill_null(False))
    if under.is_empty():
        return t("fiche.headline.none_under", name=brief.name, year=brief.year, m=themes.height)
    lang = current_language()
    clearest = under.with_columns(
        pl.col("gap_flag").replace_strict(funnel.FLAG_ORDER, default=len(funnel.FLAG_ORDER))
    ).sort("gap_flag", "gap_ratio")  # beyond 99.8 % first, then the lowest ratio, as on Besoins
    names = ", ".join(label(row, lang) for row in clearest.head(3).to_dicts())
    return t(
        "fiche.headline.under",
        name=brief.name,
        year=brief.year,
        n=under.height,
        m=themes.height,
        themes=names,
    )


def _total_sentence(brief: CommuneBrief) -> str:
    latest = brief.trend.filter(brief.trend["year"] == brief.year)
    if latest.is_empty() or latest["rate"][0] is None:
        return ""
    row = latest.row(0, named=True)
    return t(
        "fiche.headline.total",
        rate=fmt_decimal(row["rate"]),
        comparison=t(f"fiche.headline.vs.{row['rate_vs_canton'] or 'non_compare'}"),
        canton=fmt_decimal(row["canton_rate"]),
    )


def _indicators_sentence(brief: CommuneBrief) -> str:
    judged = brief.indicators["judgement"].drop_nulls().to_list()
    counts = {code: judged.count(code) for code in ("moins_bien", "similaire", "mieux")}
    if not sum(counts.values()):
        return ""
    return t(
        "fiche.headline.indicators",
        worse=fmt_int(counts["moins_bien"]),
        similar=fmt_int(counts["similaire"]),
        better=fmt_int(counts["mieux"]),
    )


# --- HTML -------------------------------------------------------------------------------------------


def _comparison_cell(row: ProfileRow) -> str:
    colour = needs_text.COMPARISON_COLOURS.get(row.category, "#FFFFFF")
    return (
        f'<td class="cmp"><span class="swatch" style="background:{colour}"></span>'
        f"{escape(row.comparison)}</td>"
    )


def _spine_cell(row: ProfileRow) -> str:
    if row.spine is None:
        return '<td class="spine-cell"></td>'
    return (
        f'<td class="spine-cell">'
        f"{spine.row_image(row.spine, width=SPINE_WIDTH, height=SPINE_HEIGHT)}</td>"
    )


def table_html(
    rows: Sequence[ProfileRow], headers: Sequence[str], extra: Sequence[str] = ()
) -> str:
    """One row per indicator or theme; `headers`: label, value, interval, canton (then neighbours,
    the extra columns, the comparison and the spine are added here)."""
    with_neighbours = any(row.neighbours is not None for row in rows)
    # On a phone (PROFILE_CSS) the interval, the neighbours, the counts and the spine give way:
    # value, canton, ratio and comparison stay. A class per column, for its header and its cells.
    columns = [("", headers[0]), ("num", headers[1]), ("num ci", headers[2]), ("num", headers[3])]
    if with_neighbours:
        columns.append(("num near-col", t("fiche.col_neighbours")))
    counts = len(rows[0].extra) if rows else 0
    columns += [("num extra", header) for header in extra[:counts]]
    columns += [("num", header) for header in extra[counts:]]  # the gap ratio
    columns += [("cmp", t("fiche.col_comparison")), ("spine-cell", t("fiche.col_spine"))]
    head = "".join(
        f'<th scope="col" class="{css}">{escape(header)}</th>'
        if css
        else f'<th scope="col">{escape(header)}</th>'
        for css, header in columns
    )
    body = []
    for row in rows:
        flag = f'<span class="flag"> · {escape(row.flag)}</span>' if row.flag else ""
        numbers = [row.value, row.interval, row.canton]
        if with_neighbours:
            numbers.append(row.neighbours or MISSING)
        numbers += list(row.extra)
        cells = [
            f'<td class="{css}">{escape(value)}</td>'
            for (css, _), value in zip(columns[1:], numbers, strict=False)
        ]
        if row.gap is not None:
            cells.append(f'<td class="num">{row.gap}</td>')
        body.append(
            f'<tr><th scope="row">{escape(row.label)}{flag}</th>'
            + "".join(cells)
            + _comparison_cell(row)
            + _spine_cell(row)
            + "</tr>"
        )
    return (
        f'<table class="profile"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def indicators_html(brief: CommuneBrief) -> str:
    headers = [
        t("fiche.col_indicator"),
        t("fiche.col_value"),
        t("fiche.col_ci"),
        t("fiche.col_canton"),
    ]
    return table_html(indicator_rows(brief), headers)


def themes_html(brief: CommuneBrief) -> str:
    headers = [t("fiche.col_theme"), t("fiche.col_rate"), t("fiche.col_ci"), t("fiche.col_canton")]
    extra = [t("fiche.col_persons"), t("fiche.col_gap_short")]
    return table_html(theme_rows(brief), headers, extra)


# Shared by the page (shell.css loads it too) and the exported file.
PROFILE_CSS = """
table.profile { border-collapse: collapse; width: 100%; font-size: .82rem; margin: .3rem 0 .2rem; }
table.profile th, table.profile td { border-bottom: 1px solid #e1e1e1; padding: .16rem .35rem;
  text-align: left; vertical-align: middle; }
table.profile thead th { background: #f2f4f7; font-weight: 600; font-size: .76rem; }
table.profile tbody th { font-weight: 400; }
table.profile td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.profile td.cmp { white-space: nowrap; }
table.profile .swatch { display: inline-block; width: .75rem; height: .75rem; border-radius: 50%;
  border: 1px solid #333; margin-right: .3rem; vertical-align: -1px; }
table.profile .flag, table.profile .near { color: #5a5957; font-size: .72rem; }
table.profile td.spine-cell { width: 172px; padding: 0 .2rem; }
table.profile td.spine-cell img { display: block; width: 100%; height: auto; max-width: 172px; }
@media print {  /* two pages for the profile: the rows as tight as they stay readable */
  table.profile { font-size: .74rem; }
  table.profile th, table.profile td { padding: .1rem .3rem; }
  table.profile .near { line-height: 1.1; }
}
@media (min-width: 641px) {  /* the spine gives way before a theme's name wraps on five lines */
  table.profile tbody th { min-width: 8.5rem; }
}
@media (max-width: 640px) {
  table.profile { font-size: .78rem; }
  table.profile .ci, table.profile .near-col, table.profile .extra,
  table.profile .spine-cell { display: none; }
}
"""
