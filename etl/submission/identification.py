"""The identification sheet: who sends the file (`membre`), for which period (`periode`), and the
optional contact and sending date; each checked with its French message."""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.submission import suggestions
from etl.submission.issues import IssueCollector, one_issue
from etl.submission.lookups import Lookups
from etl.submission.parsing import excel_error_message, is_excel_error, parse_date
from etl.submission.periods import checked_periods
from etl.submission.raw import Cell, RawFile
from etl.submission.results import WARNING
from etl.submission.rules_common import CLOSE, resolve


def unknown_member_message(value: str) -> str:
    return (
        f"Membre « {value} » inconnu du registre de la CAPAS. Indiquez le code qui vous a été "
        "attribué (il figure sur le modèle envoyé par le secrétariat). Nouveau membre : le "
        "secrétariat doit d'abord vous inscrire au registre."
    )


def identify(
    raw: RawFile, lookups: Lookups, today: dt.date, issues: IssueCollector
) -> tuple[str | None, str | None]:
    """The member and period named on the identification sheet (None if absent or wrong)."""
    cells = raw.identification
    member = period = None
    if "membre" in cells:
        member = _member(raw, cells["membre"], lookups, issues)
    if "periode" in cells:
        period = _period(raw, cells["periode"], lookups, today, issues)
    if raw.kind == "xlsx" and "activite" in raw.sheets:
        headers = raw.sheets["activite"].headers
        for name in ("membre", "periode"):
            if name not in cells and name not in headers:
                what = "le code du membre" if name == "membre" else "la période"
                issues.add(
                    one_issue(
                        raw.identification_title,
                        f"Indiquez {what} sur la feuille identification (cellule à "
                        f"droite de « {name} »).",
                        column=name,
                    )
                )
    return member, period


def _member(raw: RawFile, cell: Cell, lookups: Lookups, issues: IssueCollector) -> str | None:
    title = raw.identification_title
    if cell.value is None:
        issues.add(
            one_issue(
                title,
                "Le code du membre est vide. Indiquez le code attribué par la CAPAS.",
                row=cell.row,
                column="membre",
                cell=cell.reference,
            )
        )
        return None
    frame = pl.DataFrame({"membre": [cell.value]}, schema={"membre": pl.String})
    resolved = resolve(frame, "membre", lookups.members, "member_code", "m")[0]
    if resolved is None:
        issues.add(
            one_issue(
                title,
                _unknown_member(frame, cell.value, lookups),
                row=cell.row,
                column="membre",
                value=cell.value,
                cell=cell.reference,
            )
        )
    return resolved


def _unknown_member(frame: pl.DataFrame, value: str, lookups: Lookups) -> str:
    """An Excel error, or the unknown member with the closest codes if any."""
    close = suggestions.suggested("membre", suggestions.for_members(frame["membre"], lookups))
    written = pl.col("membre")
    return frame.select(
        pl.when(is_excel_error(written))
        .then(excel_error_message(written))
        .when(close.is_not_null())
        .then(pl.format(unknown_member_message("{}") + CLOSE, written, close))
        .otherwise(pl.lit(unknown_member_message(value)))
    ).item()


def _period(
    raw: RawFile, cell: Cell, lookups: Lookups, today: dt.date, issues: IssueCollector
) -> str | None:
    title = raw.identification_title
    if cell.value is None:
        issues.add(
            one_issue(
                title,
                "La période est vide. Indiquez par exemple 2025, 2025-T1 ou 2025-03.",
                row=cell.row,
                column="periode",
                cell=cell.reference,
            )
        )
        return None
    frame = checked_periods(
        pl.DataFrame({"periode": [cell.value]}, schema={"periode": pl.String}), lookups, today
    )
    message = frame["__period_problem"][0]
    if message is not None:
        issues.add(
            one_issue(
                title,
                message,
                row=cell.row,
                column="periode",
                value=cell.value,
                cell=cell.reference,
            )
        )
        return None
    return frame["__period"][0]


def extras(raw: RawFile, issues: IssueCollector) -> tuple[str | None, dt.date | None]:
    """The contact and the sending date (a date that cannot be read is ignored, with a warning)."""
    cells = raw.identification
    contact = cells["contact"].value if "contact" in cells else None
    date_envoi = None
    if "date_envoi" in cells and cells["date_envoi"].value is not None:
        cell = cells["date_envoi"]
        date_envoi = pl.select(parse_date(pl.lit(cell.value, pl.String))).item()
        if date_envoi is None:
            issues.add(
                one_issue(
                    raw.identification_title,
                    f"Date d'envoi « {cell.value} » non reconnue (jj.mm.aaaa) : elle est ignorée.",
                    row=cell.row,
                    column="date_envoi",
                    value=cell.value,
                    severity=WARNING,
                    cell=cell.reference,
                )
            )
    return contact, date_envoi
