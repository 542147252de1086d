"""The quarterly bulletin (CAPAS newsletter to members and authorities): a standalone HTML file, its
PDF (the system's headless Chromium, like the commune brief) and each chart as SVG and PNG.

    observatoire bulletin --periode 2025-T2 [--langue fr|en] [--dossier D]

Everything comes from the public file (`bulletin_data`, the pages' queries); the files go to
`<dossier>/bulletin-<période>[-en]/`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from dashboard import bulletin_charts, bulletin_data
from dashboard.brief_export import chromium_path, render_pdf
from dashboard.bulletin_data import Bulletin
from dashboard.components import signals_text as words
from dashboard.i18n import MISSING, fmt_change, fmt_count, fmt_date, fmt_decimal, label, t
from etl.analysis.signals import RULE
from etl.errors import UserError
from etl.exports import dataset, public_runner
from etl.paths import DATA_DIR

DEFAULT_FOLDER = DATA_DIR / "bulletins"
FIELD_ROWS = 10
CSS = """
body { font-family: "Source Sans Pro", "Helvetica Neue", Arial, sans-serif; color: #1a1a1a;
       margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.35; font-size: 10.5pt; }
h1 { font-size: 1.6rem; margin: 0 0 .1rem; color: #0B5CAD; }
h2 { font-size: 1.15rem; margin: 1.2rem 0 .4rem; border-bottom: 2px solid #0B5CAD; padding-bottom: .15rem; }
h3 { font-size: 1rem; margin: .8rem 0 .2rem; }
p { margin: .3rem 0; }
p.meta, p.note, figcaption { color: #555; font-size: .85em; }
p.demo { background: #fff4d6; border: 1px solid #e6c35c; padding: .3rem .5rem; }
.keys { display: grid; grid-template-columns: repeat(4, 1fr); gap: .5rem; margin: .5rem 0; }
.key { border: 1px solid #d0d7e2; border-radius: 6px; padding: .4rem .6rem; }
.key .name { font-size: .8em; color: #444; }
.key .value { font-size: 1.6em; font-weight: 600; }
.key .change { font-size: .8em; color: #444; }
table { border-collapse: collapse; width: 100%; font-size: .8em; margin: .3rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .12rem .35rem; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; white-space: nowrap; }
th { background: #f2f4f7; }
figure { margin: .6rem 0; }
figure svg { width: 100%; height: auto; }
blockquote { margin: .2rem 0 .2rem .8rem; padding-left: .6rem; border-left: 3px solid #D55E00;
             font-size: .9em; }
.signal, .whole { break-inside: avoid; }
@page { size: A4; margin: 12mm 14mm; }
@media print { body { margin: 0; max-width: none; } h2, h3 { break-after: avoid; }
               figure, .keys, tr { break-inside: avoid; } }
"""
_SVG_TAG = re.compile(r"<svg\b([^>]*)>")


@dataclass(frozen=True)
class BulletinFiles:
    folder: Path
    html: Path
    pdf: Path
    charts: list[Path]  # SVG and PNG of every chart


# --- sections -------------------------------------------------------------------------------------


def _key(name: str, value: str, note: str) -> str:
    return (
        f'<div class="key"><div class="name">{escape(name)}</div>'
        f'<div class="value">{escape(value)}</div><div class="change">{escape(note)}</div></div>'
    )


def _change_note(row: dict | None, b: Bulletin) -> str:
    before = words.period_label(b.period - 4, b.lang)
    if row is None or row["change_pct"] is None:
        return t("bulletin.key_no_change", b.lang, quarter=before)
    return t(
        "bulletin.key_change",
        b.lang,
        change=fmt_change(row["change_pct"], 0, b.lang),
        quarter=before,
    )


def key_figures(b: Bulletin) -> dict[str, str]:
    """The four figures of « En bref », as shown (tests compare them with the public file)."""
    current, unmet = b.current, b.unmet
    alerts = b.field.filter(b.field["niveau"] == "alerte").height
    return {
        "persons": fmt_count(
            current and current["value"], bool(current and current["suppressed"]), b.lang
        ),
        "unmet": fmt_count(unmet and unmet["value"], bool(unmet and unmet["suppressed"]), b.lang),
        "signals": str(b.assessed["n_signals"]),
        "alerts": str(alerts),
        "vigilance": str(b.field.height - alerts),
    }


def key_section(b: Bulletin) -> str:
    figures = key_figures(b)
    lang = b.lang
    boxes = [
        _key(t("bulletin.key_persons", lang), figures["persons"], _change_note(b.current, b)),
        _key(t("bulletin.key_unmet", lang), figures["unmet"], _change_note(b.unmet, b)),
        _key(
            t("bulletin.key_signals", lang),
            figures["signals"],
            t("bulletin.key_signals_note", lang, assessed=b.assessed["n_assessed"]),
        ),
        _key(
            t("bulletin.key_field", lang),
            t("bulletin.key_field_value", lang, alerts=figures["alerts"]),
            t("bulletin.key_field_note", lang, vigilance=figures["vigilance"]),
        ),
    ]
    notes = f"{t('bulletin.key_persons_note', lang)} · {t('bulletin.key_unmet_note', lang)}"
    return (
        f"<h2>{escape(t('bulletin.key_title', lang))}</h2>"
        f'<div class="keys">{"".join(boxes)}</div><p class="note">{escape(notes)}</p>'
    )


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    def cell(tag: str, index: int, text: str) -> str:
        klass = ' class="n"' if index in numeric else ""
        return f"<{tag}{klass}>{escape(text)}</{tag}>"

    header = "".join(cell("th", i, text) for i, text in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", i, text) for i, text in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def theme_rows(b: Bulletin) -> list[list[str]]:
    """Theme, persons this quarter, the same quarter a year before, change (as the table shows)."""
    rows = []
    for row in b.themes.iter_rows(named=True):
        before = row["previous_value"]
        rows.append(
            [
                label(row, b.lang),
                fmt_count(row["value"], row["suppressed"], b.lang),
                fmt_count(before, row["previous_suppressed"], b.lang)
                if before is not None or row["previous_suppressed"]
                else MISSING,
                fmt_change(row["change_pct"], 0, b.lang),
            ]
        )
    return rows


def themes_section(b: Bulletin, figure: str) -> str:
    lang, quarter = b.lang, words.period_label(b.period, b.lang)
    head = [
        t("bulletin.col_theme", lang),
        t("bulletin.col_now", lang, quarter=quarter),
        t("bulletin.col_before", lang, quarter=words.period_label(b.period - 4, lang)),
        t("bulletin.col_change", lang),
    ]
    return (
        f"<h2>{escape(t('bulletin.themes_title', lang))}</h2>"
        f"<p>{escape(t('bulletin.themes_intro', lang, quarter=quarter))}</p>"
        f'{figure}<div class="whole">{_table(head, theme_rows(b), numeric={1, 2, 3})}</div>'
    )


def _note(note: dict, lang: str) -> str:
    who = f"{fmt_date(note['obs_date'], lang)} · {note['member_name']}"
    if note["commune_name"]:
        who += f" · {note['commune_name']}"
    level = t(f"field.level.{note['niveau']}", lang)
    return f"<blockquote><strong>{escape(level)}</strong> · {escape(who)}<br>{escape(note['texte'])}</blockquote>"


def signals_section(b: Bulletin, figure: str) -> str:
    lang, quarter = b.lang, words.period_label(b.period, b.lang)
    assessed, parts = (
        b.assessed["n_assessed"],
        [f"<h2>{escape(t('bulletin.signals_title', lang))}</h2>"],
    )
    if b.signals.is_empty():
        parts.append(
            f"<p>{escape(t('bulletin.signals_none', lang, quarter=quarter, assessed=assessed))}</p>"
        )
        return "".join(parts)
    parts.append(
        f"<p>{escape(t('bulletin.signals_intro', lang, n=b.signals.height, assessed=assessed))}</p>"
    )
    parts.append(figure)
    field = b.field.to_dicts()
    for row in b.signals.iter_rows(named=True):
        notes = words.field_for(row, field)
        parts.append(
            f'<div class="signal"><h3>{escape(words.title(row, lang))}</h3>'
            f"<p>{escape(words.numbers(row, lang))}. {escape(words.year_before(row, lang))}</p>"
            + (
                "".join(_note(n, lang) for n in notes)
                or f'<p class="note">{escape(words.field_summary(row, lang))}</p>'
            )
            + "</div>"
        )
    return "".join(parts)


def field_section(b: Bulletin, figure: str) -> str:
    lang, quarter = b.lang, words.period_label(b.period, b.lang)
    parts = [
        f"<h2>{escape(t('bulletin.field_title', lang))}</h2>",
        f"<p>{escape(t('bulletin.field_intro', lang, quarter=quarter))}</p>",
    ]
    agreements = bulletin_data.field_agreements(b)
    if not agreements:
        return "".join(parts) + f"<p>{escape(t('bulletin.field_none', lang))}</p>"
    # Alerts first, then the latest watch notes: the page Remontées du terrain has them all.
    agreements.sort(
        key=lambda pair: (pair[0]["niveau"] != "alerte", -pair[0]["obs_date"].toordinal())
    )
    more = len(agreements) - FIELD_ROWS
    head = [t(f"bulletin.col_{c}", lang) for c in ("date", "theme", "place", "level", "numbers")]
    rows = [
        [
            fmt_date(note["obs_date"], lang),
            note[f"theme_label_{lang}"] or note["theme"],
            note["commune_name"] or t("signals.canton", lang),
            t(f"field.level.{note['niveau']}", lang),
            t(f"signals.agree_badge.{agreement.kind}", lang),
        ]
        for note, agreement in agreements[:FIELD_ROWS]
    ]
    table = _table(head, rows)
    if more > 0:
        table += f'<p class="note">{escape(t("bulletin.field_more", lang, n=more))}</p>'
    return "".join(parts) + figure + table


def under_served_section(b: Bulletin) -> str:
    lang, year = b.lang, b.under_served_year
    if year is None:
        return ""
    parts = [
        f"<h2>{escape(t('bulletin.under_title', lang, year=year))}</h2>",
        f"<p>{escape(t('bulletin.under_intro', lang))}</p>",
    ]
    if b.under_served.is_empty():
        return "".join(parts) + f"<p>{escape(t('bulletin.under_none', lang, year=year))}</p>"
    head = [t(f"bulletin.col_{c}", lang) for c in ("theme", "commune", "persons", "ratio")]
    rows = [
        [
            label(row, lang),
            row["name"],
            fmt_count(row["persons"], row["persons_suppressed"], lang),
            f"{fmt_decimal(row['gap_ratio'], 2, lang)} ({fmt_decimal(row['gap_lower'], 2, lang)}"
            f"–{fmt_decimal(row['gap_upper'], 2, lang)})",
        ]
        for row in b.under_served.iter_rows(named=True)
    ]
    return "".join(parts) + _table(head, rows, numeric={2, 3})


def sources_section(b: Bulletin, generated_at: dt.datetime) -> str:
    lang, meta = b.lang, dataset()
    sources = "; ".join(source["title"] for source in meta["sources"])
    date = fmt_date(b.published_at, lang)
    method = t(
        "bulletin.method",
        lang,
        history=RULE.min_history,
        level=fmt_decimal(100 * (1 - RULE.alpha), 0, lang),
        minimum=RULE.min_count,
    )
    lines = [
        t("bulletin.sources", lang, sources=sources),
        method,
        t("bulletin.licence", lang, licence=f"{meta['licence_title']} ({meta['licence_url']})"),
        t(
            "bulletin.citation",
            lang,
            quarter=words.period_label(b.period, lang),
            version=b.version,
            date=date,
        ),
        t("bulletin.generated", lang, date=fmt_date(generated_at, lang)),
    ]
    return f"<h2>{escape(t('bulletin.sources_title', lang))}</h2>" + "".join(
        f'<p class="note">{escape(line)}</p>' for line in lines
    )


# --- the document -----------------------------------------------------------------------------------


def figure_html(svg: str | None, title: str) -> str:
    """An exported SVG inline (scaled to the page: a viewBox from its width and height)."""
    if not svg:
        return ""
    svg = svg[svg.index("<svg") :]
    match = _SVG_TAG.search(svg)
    width = re.search(r'width="(\d+)', match.group(1))
    height = re.search(r'height="(\d+)', match.group(1))
    if width and height and "viewBox" not in match.group(1):
        box = f' viewBox="0 0 {width.group(1)} {height.group(1)}"'
        svg = svg[: match.end() - 1] + box + svg[match.end() - 1 :]
    return f"<figure>{svg}<figcaption>{escape(title)}</figcaption></figure>"


def render_html(b: Bulletin, svgs: dict[str, str], generated_at: dt.datetime) -> str:
    """The whole bulletin, self-contained (inline CSS and SVG, no script, no link to fetch)."""
    lang, quarter = b.lang, words.period_label(b.period, b.lang)
    charts = {chart.name: chart for chart in bulletin_charts.bulletin_charts(b)}

    def figure(name: str) -> str:
        chart = charts.get(name)
        return figure_html(svgs.get(name), chart.title) if chart else ""

    title = t("bulletin.title", lang)
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{escape(title)} — {escape(quarter)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(t("bulletin.subtitle", lang, quarter=quarter))}<br>'
        f"{escape(t('bulletin.meta', lang, version=b.version, date=fmt_date(b.published_at, lang)))}</p>",
        f'<p class="demo">{escape(t("bulletin.demo", lang))}</p>' if b.has_demo else "",
        key_section(b),
        figure("1-personnes-par-trimestre"),
        themes_section(b, figure("2-evolution-par-thematique")),
        signals_section(b, figure("3-signaux")),
        field_section(b, figure("4-remontees-du-terrain")),
        under_served_section(b),
        sources_section(b, generated_at),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def load(db_path: Path, period_code: str | None, lang: str) -> Bulletin:
    with public_runner(db_path) as run:
        period = bulletin_data.choose_period(run, period_code)
        return bulletin_data.load_bulletin(run, period, lang)


def write_bulletin(
    db_path: Path,
    period_code: str | None = None,
    lang: str = "fr",
    folder: Path | None = None,
    generated_at: dt.datetime | None = None,
) -> BulletinFiles:
    """Read the public file of `db_path`, write the bulletin's HTML, PDF and charts."""
    browser = chromium_path()
    if browser is None:
        raise UserError("Chromium est introuvable : il dessine les graphiques et imprime le PDF.")
    b = load(db_path, period_code, lang)
    stem = t("bulletin.file", lang, code=b.code)
    out = Path(folder or DEFAULT_FOLDER) / stem
    svg_paths = bulletin_charts.export_charts(
        bulletin_charts.bulletin_charts(b), out, stem, browser
    )
    svgs = {name: path.read_text(encoding="utf-8") for name, path in svg_paths.items()}
    html = render_html(b, svgs, generated_at or dt.datetime.now())
    html_path, pdf_path = out / f"{stem}.html", out / f"{stem}.pdf"
    html_path.write_text(html, encoding="utf-8")
    pdf_path.write_bytes(render_pdf(html))
    charts = sorted(path for path in out.iterdir() if path.suffix in (".svg", ".png"))
    return BulletinFiles(out, html_path, pdf_path, charts)
