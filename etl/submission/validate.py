"""Validate a read file against the rules of DESIGN §4, vectorised (one pass per rule, not per row).

The rules are small functions listed per sheet (rules_activity.py, rules_services.py,
rules_observations.py; the identification sheet in identification.py, the periods and slices in
periods.py). Each turns the rows where it fails into issue rows (sheet, row, column, value, message
in French), collected in one frame. Nothing here writes: `load.py` decides what to do with a
`ValidatedFile`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from etl.submission import identification, periods, rules_activity
from etl.submission import rules_observations as observation_rules
from etl.submission import rules_services as service_rules
from etl.submission.columns import ACTIVITY_COUNT_COLUMNS, canonical_sheet
from etl.submission.issues import ISSUE_SCHEMA, IssueCollector, one_issue
from etl.submission.lookups import Lookups
from etl.submission.parsing import PERSONAL_DATA
from etl.submission.raw import RawFile
from etl.submission.results import ERROR, Issue
from etl.submission.rules_common import Context, apply_rules
from etl.submission.rules_observations import MAX_TEXT_CHARS

__all__ = [
    "MAX_TEXT_CHARS",
    "PERSONAL_DATA",
    "CheckedFile",
    "ValidatedFile",
    "check_file",
    "finish",
    "validate_raw",
]

MAX_ISSUES = 1000  # kept per file; the count of all issues is kept too
ACTIVITY_SCHEMA = {
    "member_code": pl.String,
    "period_code": pl.String,
    "year": pl.Int32,
    "theme": pl.String,
    "lieu": pl.String,
    "ofs_number": pl.Int32,
    **{column: pl.Int32 for column in ACTIVITY_COUNT_COLUMNS},
}
SERVICE_SCHEMA = {
    "member_code": pl.String,
    "period_code": pl.String,
    "service_no": pl.Int32,
    "nom": pl.String,
    "theme": pl.String,
    "type": pl.String,
    "lieu": pl.String,
    "ofs_number": pl.Int32,
    "communes_desservies": pl.List(pl.Int32),
    "tout_le_canton": pl.Boolean,
    "adresse": pl.String,
    "horaires": pl.String,
    "contact": pl.String,
    "conditions_acces": pl.String,
    "langues": pl.List(pl.String),
    "capacite": pl.Int32,
}
OBSERVATION_SCHEMA = {
    "member_code": pl.String,
    "period_code": pl.String,
    "obs_date": pl.Date,
    "theme": pl.String,
    "lieu": pl.String,
    "ofs_number": pl.Int32,
    "niveau": pl.String,
    "texte": pl.String,
    "is_public": pl.Boolean,
}
_SHEET_ORDER = {"identification": 0, "activite": 1, "services": 2, "observations": 3}
NO_DATA = (
    "Le fichier ne contient aucune ligne de données : remplissez la "
    "feuille activite (une ligne par thème et par commune)."
)


@dataclass
class ValidatedFile:
    raw: RawFile
    activity: pl.DataFrame
    services: pl.DataFrame
    observations: pl.DataFrame
    slices: pl.DataFrame  # member_code, period_code: what the file replaces
    member_is_demo: dict[str, bool] = field(default_factory=dict)
    member_names: dict[str, str] = field(default_factory=dict)
    contact: str | None = None
    date_envoi: dt.date | None = None
    issues: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ISSUE_SCHEMA))
    rows_total: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0

    @property
    def has_errors(self) -> bool:
        return self.issues.filter(pl.col("severity") == ERROR).height > 0

    @property
    def rows_accepted(self) -> int:
        return self.rows_total - self.rows_rejected

    def issue_list(self) -> list[Issue]:
        """Errors first, then warnings, file-level first, then the template's sheet order and rows;
        at most MAX_ISSUES (a column wrong on a million rows must not hide the other problems)."""
        titles = self.issues["sheet"].unique().to_list()
        order = {
            title: _SHEET_ORDER.get(canonical_sheet(title) or "", -1 if title == "—" else 9)
            for title in titles
        }
        ordered = self.issues.sort(
            pl.col("severity") != ERROR,
            pl.col("sheet").replace_strict(order, return_dtype=pl.Int32),
            "row",
            nulls_last=False,
            maintain_order=True,
        ).head(MAX_ISSUES)
        return [Issue(self.raw.file_name, **row) for row in ordered.iter_rows(named=True)]


@dataclass
class CheckedFile:
    """A file checked by every rule that depends only on the file and the reference lookups.

    What remains — the periods already loaded for its members (`periods.check_period_mixing`) — is
    checked by `finish`, against the database as it is when the file's turn to be loaded comes: so a
    batch of files can be checked side by side (etl/submission/batch.py) and finished in order.
    """

    raw: RawFile
    activity: pl.DataFrame
    services: pl.DataFrame
    observations: pl.DataFrame
    slices: pl.DataFrame  # member_code, period_code, first_row
    issues: IssueCollector
    mixing_at: int  # where, among the issues, those of the loaded periods belong
    contact: str | None
    date_envoi: dt.date | None
    rows_total: int
    rows_skipped: int


def validate_raw(raw: RawFile, lookups: Lookups, today: dt.date | None = None) -> ValidatedFile:
    """Apply every rule of DESIGN §4 to one read file (no database access beyond `lookups`)."""
    return finish(check_file(raw, lookups, today), lookups)


def check_file(raw: RawFile, lookups: Lookups, today: dt.date | None = None) -> CheckedFile:
    """Every rule but those on the periods already loaded (see `CheckedFile`)."""
    today = today or dt.date.today()
    issues = IssueCollector()
    for issue in raw.issues:  # what the reader found first
        issues.add(
            one_issue(
                issue.sheet,
                issue.message,
                row=issue.row,
                column=issue.column,
                value=issue.value,
                severity=issue.severity,
                cell=issue.cell,
            )
        )
    member, period = identification.identify(raw, lookups, today, issues)
    context = Context(raw, lookups, today, member, period)
    activity = _checked_sheet(raw, "activite", rules_activity, context, issues)
    slices = periods.file_slices(activity, member, period)
    slice_member, slice_period = periods.single_slice(raw, slices, member, period, issues)
    of_slice = dataclasses.replace(context, member=slice_member, period=slice_period)
    services = _checked_sheet(raw, "services", service_rules, of_slice, issues)
    observations = _checked_sheet(raw, "observations", observation_rules, of_slice, issues)
    mixing_at = len(issues.parts)
    rows_total = sum(sheet.frame.height for sheet in raw.sheets.values())
    if rows_total == 0 and not raw.issues:
        issues.add(one_issue("—", NO_DATA))
    contact, date_envoi = identification.extras(raw, issues)
    return CheckedFile(
        raw=raw,
        activity=_select(activity, ACTIVITY_SCHEMA),
        services=_select(services, SERVICE_SCHEMA),
        observations=_select(observations, OBSERVATION_SCHEMA),
        slices=slices,
        issues=issues,
        mixing_at=mixing_at,
        contact=contact,
        date_envoi=date_envoi,
        rows_total=rows_total,
        rows_skipped=sum(sheet.skipped_rows for sheet in raw.sheets.values()),
    )


def finish(checked: CheckedFile, lookups: Lookups) -> ValidatedFile:
    """The file's periods against those loaded now (`lookups.submissions`), then the result."""
    mixing = IssueCollector()
    periods.check_period_mixing(checked.raw, checked.slices, lookups, mixing)
    issues = IssueCollector()
    issues.parts = [
        *checked.issues.parts[: checked.mixing_at],
        *mixing.parts,
        *checked.issues.parts[checked.mixing_at :],
    ]
    issues.rows = [*checked.issues.rows, *mixing.rows]
    return ValidatedFile(
        raw=checked.raw,
        activity=checked.activity,
        services=checked.services,
        observations=checked.observations,
        slices=checked.slices.select("member_code", "period_code"),
        member_is_demo=_member_flags(checked.slices, lookups),
        member_names=_member_names(checked.slices, lookups),
        contact=checked.contact,
        date_envoi=checked.date_envoi,
        issues=issues.frame(),
        rows_total=checked.rows_total,
        rows_rejected=issues.rejected_rows(),
        rows_skipped=checked.rows_skipped,
    )


def _checked_sheet(
    raw: RawFile, name: str, rules, context: Context, issues: IssueCollector
) -> pl.DataFrame | None:
    """A data sheet prepared, checked by its sheet's rules, and shaped for the database."""
    if name not in raw.sheets:
        return None
    sheet = raw.sheets[name]
    frame = rules.prepare(sheet, context)
    apply_rules(rules.RULES, frame, sheet, context, issues)
    return rules.finish(frame, context)


def _member_flags(slices: pl.DataFrame, lookups: Lookups) -> dict[str, bool]:
    members = lookups.members.select("member_code", "is_demo").unique("member_code")
    flags = slices.select("member_code").unique().join(members, on="member_code", how="left")
    return {code: bool(flag) for code, flag in flags.iter_rows()}


def _member_names(slices: pl.DataFrame, lookups: Lookups) -> dict[str, str]:
    members = lookups.members.select("member_code", "name").unique("member_code")
    names = slices.select("member_code").unique().join(members, on="member_code", how="left")
    return dict(names.iter_rows())


def _select(frame: pl.DataFrame | None, schema: dict) -> pl.DataFrame:
    if frame is None:
        return pl.DataFrame(schema=schema)
    if "n_personnes" in frame.columns:  # activity: the parsed counts replace the text
        frame = frame.drop(ACTIVITY_COUNT_COLUMNS).rename(
            {f"n_{column}": column for column in ACTIVITY_COUNT_COLUMNS}
        )
    return frame.select(pl.col(column).cast(dtype) for column, dtype in schema.items())
