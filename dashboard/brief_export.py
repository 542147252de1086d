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

from dashboard.components import needs_text, profile
from dashboard.components.needs import CommuneBrief
from dashboard.i18n import MISSING, current_language, fmt_date, fmt_int, t
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


def file_stem(brief: CommuneBrief) -> str:
    slug = normalise_key(brief.name).replace(" ", "-")
    return t("fiche.brief_file", slug=slug, year=brief.year)


# --- standalone HTML ----------------------------------------------------------------------------

CSS = (
    """
body { font-family: "Source Sans Pro", "Helvetica Neue", Arial, sans-serif; color: #1a1a1a;
       margin: 1.5rem auto; max-width: 50rem; padding: 0 1rem; line-height: 1.35; font-size: 14px; }
h1 { font-size: 1.5rem; margin: 0 0 .15rem; }
h2 { font-size: 1.02rem; margin: .9rem 0 .2rem; border-bottom: 2px solid #0B5CAD; padding-bottom: .1rem; }
p { margin: .25rem 0; }
p.meta { color: #555; margin-top: 0; font-size: .85rem; }
p.headline { font-size: .98rem; background: #f2f6fb; border-left: 4px solid #0B5CAD;
             padding: .35rem .6rem; }
p.note { color: #555; font-size: .74rem; }
p.demo { background: #fff4d6; border: 1px solid #e6c35c; padding: .2rem .5rem; font-size: .8rem; }
table.plain { border-collapse: collapse; width: 100%; font-size: .8rem; margin: .3rem 0; }
table.plain th, table.plain td { border-bottom: 1px solid #ddd; padding: .14rem .35rem;
  text-align: left; }
table.plain td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.plain thead th { background: #f2f4f7; }
.columns { display: flex; gap: 1.2rem; }
.columns > div { flex: 1; min-width: 0; }
@page { size: A4; margin: 11mm 12mm; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               table, .keep { break-inside: avoid; } .page-two { break-before: page; } }
"""
    + profile.PROFILE_CSS
)


def plain_table(headers: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>'
            if index >= numeric_from
            else f"<td>{escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="plain"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def trend_grid(brief: CommuneBrief) -> tuple[list[str], list[list[str]]]:
    """The trend as a small grid, newest year first: persons and unmet requests per 1,000."""
    rows = brief.trend.sort("year", descending=True).to_dicts()
    headers = [t("fiche.col_measure"), *[str(row["year"]) for row in rows]]
    lines = [
        (t("fiche.trend_commune", name=brief.name), "rate", True),
        (t("fiche.trend_canton"), "canton_rate", False),
        (t("fiche.trend_unmet", name=brief.name), "unmet_rate", False),
    ]
    grid = [
        [
            name,
            *[
                needs_text.rate(row[key]) + (profile.estimated_mark(row) if marked else "")
                for row in rows
            ],
        ]
        for name, key, marked in lines
    ]
    return headers, grid


def services_by_theme(brief: CommuneBrief) -> list[dict]:
    """Services per theme: located in the commune, and serving it from elsewhere (or the canton)."""
    lang = current_language()
    counts: dict[str, dict] = {}
    for row in brief.services.to_dicts():
        theme = row[f"theme_label_{lang}"] or row["theme"]
        entry = counts.setdefault(theme, {"theme": theme, "located": 0, "serving": 0})
        entry["located" if row["located_here"] else "serving"] += 1
    return sorted(
        counts.values(), key=lambda entry: (-entry["located"] - entry["serving"], entry["theme"])
    )


def services_rows(brief: CommuneBrief) -> list[list[str]]:
    return [
        [entry["theme"], fmt_int(entry["located"]), fmt_int(entry["serving"])]
        for entry in services_by_theme(brief)
    ]


def _legend(categories: tuple[str, ...]) -> str:
    return f'<p class="note">{needs_text.legend_html(categories)} · {escape(t("fiche.legend"))}</p>'


def _services_html(brief: CommuneBrief, directory_url: str | None) -> list[str]:
    rows = services_rows(brief)
    if not rows:
        return [f"<p>{escape(t('fiche.services_none'))}</p>"]
    parts = [
        plain_table([t("fiche.col_theme"), t("fiche.col_located"), t("fiche.col_serving")], rows),
        f'<p class="note">{escape(t("fiche.services_total", n=fmt_int(brief.services.height)))}',
    ]
    if directory_url:
        parts[-1] += f' <a href="{escape(directory_url)}">{escape(directory_url)}</a>'
    parts[-1] += "</p>"
    return parts


def render_html(
    brief: CommuneBrief,
    *,
    has_demo: bool,
    generated_at: dt.datetime,
    directory_url: str | None = None,
    version: str | None = None,
) -> str:
    """The whole brief as one self-contained HTML document: two A4 pages (three at most)."""
    lang = current_language()
    title = t("fiche.title", name=brief.name)
    meta = population_text(brief)
    if version:
        meta += " · " + t("fiche.version", version=version)
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{escape(title)} — {brief.year}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
    ]
    if has_demo:
        parts.append(f'<p class="demo">{escape(t("fiche.demo_note"))}</p>')
    parts += [
        f'<p class="headline">{escape(profile.headline(brief))}</p>',
        f"<h2>{escape(t('fiche.indicators_title'))}</h2>",
        profile.indicators_html(brief),
        _legend(INDICATOR_LEGEND),
        f'<p class="note">{escape(t("fiche.indicators_note"))} '
        f"{escape(t('common.chart.source', source=t('needs.source_indicators')))}</p>",
        f'<h2 class="page-two">{escape(t("fiche.themes_title", year=brief.year))}</h2>',
    ]
    if brief.themes.is_empty():
        parts.append(f"<p>{escape(t('fiche.themes_none', year=brief.year))}</p>")
    else:
        parts += [profile.themes_html(brief), _legend(THEME_LEGEND)]
    parts += [
        f'<p class="note">{escape(t("fiche.themes_note"))} {escape(t("fiche.gap_note"))}. '
        f"{escape(neighbours_note(brief))}. {escape(t('needs.double_count'))}. "
        + (f"{escape(note)}. " if (note := profile.estimate_note(brief)) else "")
        + f"{escape(t('common.chart.source', source=t('needs.source_activity')))}</p>",
        f"<h2>{escape(t('fiche.trend_title'))}</h2>",
        plain_table(*trend_grid(brief)),
        f"<h2>{escape(t('fiche.services_title'))}</h2>",
        *_services_html(brief, directory_url),
        f'<p class="note">{escape(t("common.chart.source", source=t("needs.source_services")))} · '
        f"{escape(t('fiche.generated', date=fmt_date(generated_at)))}</p>",
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
