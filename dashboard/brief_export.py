"""The commune brief as display rows, as a standalone HTML file and, where Chromium exists, as PDF.

The Fiche communale page and the exported file show the same rows, built here from a
`needs.CommuneBrief`. The HTML file is self-contained (inline CSS, SVG charts, no script, no
network): it opens offline and prints on A4 for a communal council.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path

from dashboard.components import needs_text, spine
from dashboard.components.directory import service_type_label
from dashboard.components.needs import CommuneBrief
from dashboard.i18n import (
    MISSING,
    current_language,
    fmt_date,
    fmt_decimal,
    fmt_int,
    label,
    t,
)
from etl.text import normalise_key
from etl.vocabulary import ESTIMATED_POPULATION

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
PDF_TIMEOUT_S = 60
INDICATOR_LEGEND = ("mieux", "similaire", "moins_bien", "plus_eleve", "plus_bas", "non_compare")
THEME_LEGEND = ("plus_eleve", "similaire", "plus_bas")


# --- display rows -------------------------------------------------------------------------------


def population_text(brief: CommuneBrief) -> str:
    text = t("fiche.population", year=brief.year, population=fmt_int(brief.population))
    if brief.population_status in ESTIMATED_POPULATION:
        status = t(f"fiche.status_{brief.population_status}")
        text += t("fiche.population_estimated", status=status)
    return text


def neighbours_note(brief: CommuneBrief) -> str:
    """Which communes the « Voisins » column pools (the brief's statistical neighbours)."""
    names = ", ".join(brief.neighbours["neighbour_name"].to_list())
    return t("fiche.neighbours_note", names=names or MISSING)


def _indicator_rows(brief: CommuneBrief) -> list[dict]:
    return brief.indicators.sort("indicator_code").to_dicts()


def indicator_table(brief: CommuneBrief) -> list[dict[str, str]]:
    """One row per indicator: label, year, value, interval, canton, comparison, caveats."""
    lang = current_language()
    rows = []
    for row in _indicator_rows(brief):
        code = row["indicator_code"]
        rows.append(
            {
                t("fiche.col_indicator"): label(row, lang),
                t("fiche.col_year"): str(row["value_year"]),
                t("fiche.col_value"): needs_text.indicator_value(row["value"], code),
                t("fiche.col_ci"): _interval(row["lower"], row["upper"], code),
                t("fiche.col_canton"): needs_text.indicator_value(row["canton_value"], code),
                t("fiche.col_neighbours"): needs_text.indicator_value(
                    row.get("neighbours_value"), code
                ),
                t("fiche.col_comparison"): needs_text.comparison(row["judgement"], short=True),
                t("fiche.col_notes"): ", ".join(
                    needs_text.indicator_flags(row["year_inferred"], row["carried_forward"])
                ),
            }
        )
    return rows


# A no-break space before the dash: a narrow column breaks after it, never leaves it alone on a line.
DASH = "\u00a0– "


def _interval(lower: float | None, upper: float | None, code: str) -> str:
    if lower is None or upper is None:
        return MISSING
    return (
        f"{needs_text.indicator_value(lower, code)}{DASH}{needs_text.indicator_value(upper, code)}"
    )


def _interval_decimal(lower: float | None, upper: float | None, digits: int = 1) -> str:
    if lower is None or upper is None:
        return MISSING
    return f"{fmt_decimal(lower, digits)}{DASH}{fmt_decimal(upper, digits)}"


def indicator_spine(brief: CommuneBrief) -> list[spine.SpineRow]:
    """Spine rows of the indicators that have a canton value (the others are in the table only)."""
    lang = current_language()
    rows = []
    for row in _indicator_rows(brief):
        if row["canton_value"] is None or row["value"] is None:
            continue
        code = row["indicator_code"]
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
                        value=f"{value_text} ({_interval(row['lower'], row['upper'], code)})",
                    )
                    + "<br>"
                    + t("needs.pair", name=t("needs.canton"), value=canton_text)
                    + "<br>"
                    + needs_text.comparison(row["judgement"])
                ),
            )
        )
    return rows


def theme_table(brief: CommuneBrief) -> list[dict[str, str]]:
    """One row per theme with activity in the canton that year."""
    lang = current_language()
    rows = []
    for row in brief.themes.to_dicts():
        estimated = row["population_estimated"]
        gap = MISSING
        if row["gap_ratio"] is not None:
            gap = f"{fmt_decimal(row['gap_ratio'], 2)} ({_interval_decimal(row['gap_lower'], row['gap_upper'], 2)})"
            if row["under_served"]:
                gap += " ▼"
            if row.get("neighbours_ratio") is not None:
                gap += " · " + t(
                    "fiche.neighbours_short", value=fmt_decimal(row["neighbours_ratio"], 2)
                )
        rate = needs_text.rate(row["rate"], estimated)
        if row["rate"] is not None:
            rate += f" ({_interval_decimal(row['rate_lower'], row['rate_upper'])})"
        rows.append(
            {
                t("fiche.col_theme"): label(row, lang),
                t("fiche.col_persons"): needs_text.count(row["persons"], row["persons_suppressed"]),
                t("fiche.col_rate"): rate,
                t("fiche.col_canton"): fmt_decimal(row["canton_rate"]),
                t("fiche.col_neighbours"): fmt_decimal(row.get("neighbours_rate")),
                t("fiche.col_comparison"): needs_text.comparison(row["rate_vs_canton"], short=True),
                t("fiche.col_gap"): gap,
                t("fiche.col_unmet"): needs_text.count(
                    row["unmet_requests"], row["unmet_suppressed"]
                ),
                t("fiche.col_waiting"): needs_text.count(
                    row["waiting_list"], row["waiting_suppressed"]
                ),
            }
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
        value_text = needs_text.rate(row["rate"], row["population_estimated"])
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


def trend_table(brief: CommuneBrief) -> list[dict[str, str]]:
    rows = []
    for row in brief.trend.to_dicts():
        rows.append(
            {
                t("fiche.col_year"): str(row["year"]),
                t("fiche.col_persons"): needs_text.count(row["persons"], row["persons_suppressed"]),
                t("fiche.col_rate"): needs_text.rate(row["rate"], row["population_estimated"]),
                t("fiche.col_ci"): _interval_decimal(row["rate_lower"], row["rate_upper"]),
                t("fiche.col_canton"): fmt_decimal(row["canton_rate"]),
                t("fiche.col_unmet"): needs_text.count(
                    row["unmet_requests"], row["unmet_suppressed"]
                ),
            }
        )
    return rows


def services_table(brief: CommuneBrief) -> list[dict[str, str]]:
    lang = current_language()
    rows = []
    for row in brief.services.to_dicts():
        where = row["commune_name"] or MISSING
        if row["tout_le_canton"] and not row["located_here"]:
            where = f"{where} ({t('fiche.whole_canton')})"
        rows.append(
            {
                t("fiche.col_service"): row["nom"],
                t("fiche.col_theme"): row[f"theme_label_{lang}"] or row["theme"],
                t("fiche.col_member"): row["member_name"] or row["member_code"],
                t("fiche.col_type"): service_type_label(row["type"], lang) or MISSING,
                t("fiche.col_where"): where,
                t("fiche.col_address"): row["adresse"] or MISSING,
                t("fiche.col_hours"): row["horaires"] or MISSING,
            }
        )
    return rows


def file_stem(brief: CommuneBrief) -> str:
    slug = normalise_key(brief.name).replace(" ", "-")
    return t("fiche.brief_file", slug=slug, year=brief.year)


# --- standalone HTML ----------------------------------------------------------------------------

CSS = """
body { font-family: "Source Sans Pro", "Helvetica Neue", Arial, sans-serif; color: #1a1a1a;
       margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 1.8rem; border-bottom: 2px solid #0B5CAD; padding-bottom: .2rem; }
p.meta { color: #555; margin-top: 0; }
p.note { color: #555; font-size: .85rem; }
p.demo { background: #fff4d6; border: 1px solid #e6c35c; padding: .4rem .6rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f2f4f7; }
.spine { display: flex; gap: 1rem; align-items: flex-start; }
.spine .labels { font-size: .8rem; }
.spine .labels div { height: 26px; line-height: 26px; white-space: nowrap; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               table, .spine { break-inside: avoid; } }
"""


def _html_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{escape(column)}</th>" for column in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_spine(rows: list[spine.SpineRow], *, neutral: bool) -> str:
    if not rows:
        return ""
    left = t("fiche.spine_left_neutral" if neutral else "fiche.spine_left")
    right = t("fiche.spine_right_neutral" if neutral else "fiche.spine_right")
    labels = "".join(f"<div>{escape(row.label)}</div>" for row in rows)
    return (
        f'<div class="spine"><div class="labels"><div style="height:{spine.SVG_TOP}px"></div>'
        f"{labels}</div>"
        f"{spine.svg(rows, left_label=left, right_label=right)}</div>"
    )


def _legend(categories: tuple[str, ...]) -> str:
    return (
        f'<p class="note">{needs_text.legend_html(categories)}</p>'
        f'<p class="note">{escape(t("fiche.legend"))}</p>'
    )


def render_html(brief: CommuneBrief, *, has_demo: bool, generated_at: dt.datetime) -> str:
    """The whole brief as one self-contained HTML document."""
    lang = current_language()
    title = t("fiche.title", name=brief.name)
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{escape(title)} — {brief.year}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(population_text(brief))} · {brief.year}</p>',
    ]
    if has_demo:
        parts.append(f'<p class="demo">{escape(t("fiche.demo_note"))}</p>')
    parts += [
        f"<h2>{escape(t('fiche.indicators_title'))}</h2>",
        _html_spine(indicator_spine(brief), neutral=False),
        _legend(INDICATOR_LEGEND),
        _html_table(indicator_table(brief)),
        f'<p class="note">{escape(t("fiche.indicators_note"))} '
        f"{escape(t('common.chart.source', source=t('needs.source_indicators')))}</p>",
        f"<h2>{escape(t('fiche.themes_title', year=brief.year))}</h2>",
    ]
    if brief.themes.is_empty():
        parts.append(f"<p>{escape(t('fiche.themes_none', year=brief.year))}</p>")
    else:
        parts += [
            _html_spine(theme_spine(brief), neutral=True),
            _legend(THEME_LEGEND),
            _html_table(theme_table(brief)),
        ]
    parts += [
        f'<p class="note">{escape(t("fiche.themes_note"))} {escape(neighbours_note(brief))}. '
        f"{escape(t('needs.double_count'))}. "
        f"{escape(t('needs.estimated_mark'))}. "
        f"{escape(t('common.chart.source', source=t('needs.source_activity')))}</p>",
        f"<h2>{escape(t('fiche.trend_title'))}</h2>",
        _html_table(trend_table(brief)),
        f"<h2>{escape(t('fiche.services_title'))}</h2>",
        _html_table(services_table(brief)) or f"<p>{escape(t('fiche.services_none'))}</p>",
        f'<p class="note">{escape(t("common.chart.source", source=t("needs.source_services")))}</p>',
        f'<p class="note">{escape(t("fiche.generated", date=fmt_date(generated_at)))}</p>',
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


# --- PDF through the system's headless Chromium (optional) ---------------------------------------


def chromium_path() -> str | None:
    """The headless browser used to print the brief to PDF, if this machine has one."""
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def render_pdf(html: str) -> bytes:
    """Print the standalone HTML to PDF with headless Chromium (offline: the file has no links)."""
    browser = chromium_path()
    if browser is None:
        raise RuntimeError(t("fiche.pdf_unavailable"))
    with tempfile.TemporaryDirectory(prefix="fiche-") as folder:
        source, target = Path(folder) / "fiche.html", Path(folder) / "fiche.pdf"
        source.write_text(html, encoding="utf-8")
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--no-pdf-header-footer",
                f"--user-data-dir={Path(folder) / 'profile'}",
                f"--print-to-pdf={target}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=PDF_TIMEOUT_S,
        )
        return target.read_bytes()
