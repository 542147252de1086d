"""The validation report: printed (rich) and as a standalone HTML page the secretariat can send back.

Identical problems on several rows (same sheet, column, value and message) are shown once with
their rows, so a column filled wrongly all the way down reads as one line, not a thousand.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from etl.submission.columns import canonical_sheet
from etl.submission.results import (
    ALREADY_LOADED,
    ERROR,
    FAILED,
    LOADED,
    REJECTED,
    REPLACED,
    STATUS_LABELS,
    VALID,
    FileResult,
    Issue,
)
from etl.text import printable

MAX_ROWS_LISTED = 12
DRY_RUN_LABELS = {
    LOADED: "valide : serait chargé",
    REPLACED: "valide : remplacerait l'envoi précédent",
    ALREADY_LOADED: "déjà chargé (fichier identique), rien ne changerait",
}


@dataclass(frozen=True)
class GroupedIssue:
    sheet: str
    rows: tuple[int, ...]
    column: str | None
    value: str | None
    message: str
    severity: str
    cells: tuple[str, ...]

    @property
    def rows_text(self) -> str:
        return rows_text(list(self.rows))


def rows_text(rows: list[int]) -> str:
    """[4, 5, 6, 9] -> '4 à 6, 9'; long lists are cut with the count."""
    if not rows:
        return "—"
    runs: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    parts = [str(a) if a == b else (f"{a}, {b}" if b == a + 1 else f"{a} à {b}") for a, b in runs]
    shown = ", ".join(parts[:MAX_ROWS_LISTED])
    if len(parts) > MAX_ROWS_LISTED:
        shown += f"… ({len(set(rows))} lignes)"
    return shown


def group_issues(issues: list[Issue]) -> list[GroupedIssue]:
    groups: dict[tuple, list[Issue]] = {}
    for issue in issues:
        key = (issue.severity, issue.sheet, issue.column, issue.value, issue.message)
        groups.setdefault(key, []).append(issue)
    grouped = [
        GroupedIssue(
            sheet,
            tuple(i.row for i in members if i.row is not None),
            column,
            value,
            message,
            severity,
            tuple(i.cell for i in members if i.cell),
        )
        for (severity, sheet, column, value, message), members in groups.items()
    ]
    return sorted(
        grouped, key=lambda g: (g.severity != ERROR, _sheet_order(g.sheet), min(g.rows, default=0))
    )


SHEET_ORDER = ["identification", "activite", "services", "observations"]


def _sheet_order(title: str) -> int:
    """File-level problems first, then the sheets in the template's order."""
    canonical = canonical_sheet(title) if title != "—" else None
    if title == "—":
        return -1
    return SHEET_ORDER.index(canonical) if canonical in SHEET_ORDER else len(SHEET_ORDER)


def french_spacing(text: str) -> str:
    """No line break inside « … » or before a colon (French typography, non-breaking spaces)."""
    return (
        text.replace("« ", "«\u00a0")
        .replace(" »", "\u00a0»")
        .replace(" :", "\u00a0:")
        .replace(" ;", "\u00a0;")
        .replace(" ?", "\u00a0?")
    )


def where_text(issue: GroupedIssue) -> str:
    """'activite, ligne 7, colonne personnes (D7)' — the cell only when there is one row."""
    where = issue.sheet
    if issue.rows:
        label = "ligne" if len(issue.rows) == 1 else "lignes"
        where += f", {label} {issue.rows_text}"
    if issue.column:
        where += f", colonne {issue.column}"
    if len(issue.cells) == 1:
        where += f" ({issue.cells[0]})"
    return where


def status_label(result: FileResult) -> str:
    if result.dry_run and result.status in DRY_RUN_LABELS:
        return DRY_RUN_LABELS[result.status] + " (simulation)"
    return STATUS_LABELS.get(result.status, result.status)


def _slice_text(result: FileResult) -> str:
    if result.member_code and result.period_code:
        name = f" ({result.member_name})" if result.member_name else ""
        return f"membre {result.member_code}{name}, période {result.period_code}"
    if result.slices:
        return f"{len(result.slices)} envois (membre × période)"
    return "membre et période non identifiés"


def summary_text(result: FileResult) -> str:
    parts = [f"{result.rows_accepted} ligne(s) valide(s)"]
    if result.rows_rejected:
        parts.append(f"{result.rows_rejected} ligne(s) en erreur")
    if result.rows_skipped:
        parts.append(f"{result.rows_skipped} ligne(s) vide(s), de total ou d'exemple ignorée(s)")
    return ", ".join(parts)


# ---------------------------------------------------------------- console


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


STATUS_STYLES = {
    LOADED: "green",
    REPLACED: "green",
    VALID: "green",
    ALREADY_LOADED: "cyan",
    REJECTED: "bold red",
    FAILED: "bold red",
}


def shown(text: str | None) -> str:
    """What a terminal may print of a text from a file: controls written as codes, rich markup
    escaped (a file must not clear the screen, move the cursor or fake a « chargé » line)."""
    return escape(printable(text))


def print_results(console: Console, results: list[FileResult]) -> None:
    for result in results:
        style = STATUS_STYLES.get(result.status, "")
        console.print(
            f"[bold]{shown(result.file_name)}[/] — [{style}]{status_label(result)}[/] "
            f"({shown(_slice_text(result))} ; {summary_text(result)})"
        )
        grouped = group_issues(result.issues)
        if not grouped:
            continue
        table = Table(show_lines=True, expand=True)
        table.add_column("", width=1, no_wrap=True)
        table.add_column("où", ratio=2, min_width=14, overflow="fold")
        table.add_column("valeur", ratio=2, min_width=8, max_width=30, overflow="fold")
        table.add_column("problème et correction", ratio=5, min_width=30, overflow="fold")
        for issue in grouped:
            mark = "[red]✗[/]" if issue.severity == ERROR else "[yellow]![/]"
            where = where_text(issue)
            table.add_row(
                mark,
                shown(where),
                shown(_shorten(printable(issue.value), 60)),
                shown(french_spacing(issue.message)),
            )
        console.print(table)
        if result.issues_total > len(result.issues):
            console.print(
                f"… {result.issues_total - len(result.issues)} autres problèmes non "
                "affichés : corrigez ceux-ci et validez à nouveau."
            )


# ---------------------------------------------------------------- HTML

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 2rem auto;
       max-width: 70rem; color: #1d2327; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
.meta, .summary { color: #57606a; }
.status { display: inline-block; padding: .15rem .6rem; border-radius: 1rem; font-weight: 600; }
.status.ok { background: #dafbe1; color: #116329; }
.status.same { background: #ddf4ff; color: #0a3069; }
.status.ko { background: #ffebe9; color: #a40e26; }
table { border-collapse: collapse; width: 100%; margin-top: .8rem; font-size: .93rem; }
th, td { border: 1px solid #d0d7de; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.erreur td:first-child { border-left: 4px solid #cf222e; }
tr.avertissement td:first-child { border-left: 4px solid #bf8700; }
td.value { font-family: ui-monospace, Consolas, monospace; word-break: break-word; max-width: 18rem; }
.cell { color: #57606a; white-space: nowrap; }
.help { background: #f6f8fa; border-radius: .4rem; padding: .6rem 1rem; }
@media print { body { margin: 0; } h2 { break-after: avoid; } }
"""


def _cell_html(issue: GroupedIssue) -> str:
    return (
        f' <span class="cell">({html.escape(printable(issue.cells[0]))})</span>'
        if len(issue.cells) == 1
        else ""
    )


def _status_class(status: str) -> str:
    if status in (REJECTED, FAILED):
        return "ko"
    return "same" if status == ALREADY_LOADED else "ok"


def render_html(
    results: list[FileResult],
    *,
    title: str = "Rapport de validation",
    generated_at: dt.datetime | None = None,
) -> str:
    """A self-contained page (no external resources) describing each file and its problems."""
    generated_at = generated_at or dt.datetime.now()

    def esc(text: str) -> str:  # controls and bidi overrides shown as codes, then HTML-escaped
        return html.escape(printable(text))

    sections = []
    for result in results:
        grouped = group_issues(result.issues)
        rows = "".join(
            f'<tr class="{esc(issue.severity)}"><td>{"Erreur" if issue.severity == ERROR else "Avertissement"}'
            f"</td><td>{esc(issue.sheet)}</td><td>{esc(issue.rows_text)}</td>"
            f"<td>{esc(issue.column or '')}{_cell_html(issue)}</td>"
            f'<td class="value">{esc(issue.value or "")}</td>'
            f"<td>{esc(french_spacing(issue.message))}</td></tr>"
            for issue in grouped
        )
        table = (
            "<table><thead><tr><th>Type</th><th>Feuille</th><th>Ligne(s)</th><th>Colonne</th>"
            f"<th>Valeur trouvée</th><th>Problème et correction</th></tr></thead><tbody>{rows}"
            "</tbody></table>"
            if grouped
            else "<p>Aucun problème.</p>"
        )
        more = ""
        if result.issues_total > len(result.issues):
            more = (
                f"<p>… {result.issues_total - len(result.issues)} autres problèmes non affichés : "
                "corrigez ceux-ci puis renvoyez le fichier.</p>"
            )
        sections.append(
            f"<section><h2>{esc(result.file_name)}</h2>"
            f'<p><span class="status {_status_class(result.status)}">{esc(status_label(result))}'
            f'</span></p><p class="summary">{esc(_slice_text(result))} — '
            f"{esc(summary_text(result))}</p>{table}{more}"
            f'<p class="meta">Empreinte du fichier (SHA-256) : {esc(result.sha256)}</p></section>'
        )
    rejected = sum(result.status in (REJECTED, FAILED) for result in results)
    intro = (
        "Les lignes sont numérotées comme dans Excel. Corrigez les <strong>erreurs</strong> puis "
        "renvoyez le fichier entier : un fichier qui contient une erreur n'est pas chargé du tout. "
        "Les <strong>avertissements</strong> n'empêchent pas le chargement."
        if rejected
        else "Tous les fichiers sont valides. Les avertissements éventuels n'empêchent pas le chargement."
    )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} — Observatoire social CAPAS</title><style>{CSS}</style></head><body>"
        f'<h1>{esc(title)}</h1><p class="meta">Observatoire social de la CAPAS — '
        f"{generated_at:%d.%m.%Y à %H:%M} — {len(results)} fichier(s), {rejected} refusé(s)</p>"
        f'<p class="help">{intro}</p>{"".join(sections)}</body></html>'
    )


def default_report_path(results: list[FileResult], directory: Path | None = None) -> Path:
    """rapport_<file>.html for one file, rapport_validation_<date-heure>.html for several."""
    return default_report_path_for([result.file_name for result in results], directory)


def default_report_path_for(file_names: list[str], directory: Path | None = None) -> Path:
    """The same, from the names of the files (known before they are read)."""
    directory = directory or Path.cwd()
    if len(file_names) == 1:
        return directory / f"rapport_{Path(file_names[0]).stem}.html"
    return directory / f"rapport_validation_{dt.datetime.now():%Y%m%d-%H%M%S}.html"


def write_html(results: list[FileResult], path: Path, **options) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(results, **options), encoding="utf-8")
    return path
