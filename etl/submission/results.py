"""What validation and loading hand back: one `FileResult` per file, with its `Issue`s."""

from __future__ import annotations

from dataclasses import dataclass, field

from etl.vocabulary import RUN_ALREADY_LOADED, RUN_FAILED, RUN_LOADED, RUN_REJECTED, RUN_REPLACED

# Statuses of a file (the first five are also load_runs statuses).
LOADED, REPLACED, REJECTED, ALREADY_LOADED, FAILED = (
    RUN_LOADED,
    RUN_REPLACED,
    RUN_REJECTED,
    RUN_ALREADY_LOADED,
    RUN_FAILED,
)
VALID = "valide"  # validated only (`valider`), nothing written

STATUS_LABELS = {
    LOADED: "chargé",
    REPLACED: "chargé (remplace l'envoi précédent)",
    REJECTED: "refusé : rien n'a été chargé",
    ALREADY_LOADED: "déjà chargé (fichier identique), rien à faire",
    FAILED: "erreur interne : rien n'a été chargé",
    VALID: "valide, prêt à être chargé",
}

ERROR, WARNING = "erreur", "avertissement"


@dataclass(frozen=True)
class Issue:
    """One problem, located as the member sees it in Excel (row 1 is the sheet's first row)."""

    file: str
    sheet: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    severity: str = ERROR
    cell: str | None = None  # e.g. "D12", when the column letter is known


@dataclass
class FileResult:
    file_name: str
    sha256: str
    status: str
    member_code: str | None = None  # None when the file holds several members
    member_name: str | None = None
    period_code: str | None = None  # None when the file holds several periods
    rows_accepted: int = 0  # rows that passed every rule (loaded unless the file is rejected)
    rows_rejected: int = 0  # rows with at least one error
    rows_skipped: int = 0  # blank, "Total" and example rows, ignored on purpose
    issues: list[Issue] = field(default_factory=list)
    issues_total: int = 0  # issues found, including those left out of `issues` (capped)
    slices: list[tuple[str, str]] = field(default_factory=list)  # (member, period) pairs
    counts: dict[str, int] = field(default_factory=dict)  # rows per table: activite, services…
    dry_run: bool = False
    run_id: int | None = None

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == WARNING]

    @property
    def ok(self) -> bool:
        return self.status not in (REJECTED, FAILED)
