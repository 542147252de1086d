"""Validate a read file against the rules of DESIGN §4, vectorised (one pass per rule, not per row).

Each rule turns a column into a parsed column plus the rows where it failed; failures become
issue rows (sheet, row, column, value, message in French) collected in one frame. Nothing here
writes: `load.py` decides what to do with a `ValidatedFile`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from etl.submission import suggestions
from etl.submission.columns import (
    ACTIVITY_COUNT_COLUMNS,
    BREAKDOWN_COLUMNS,
    LEVELS,
    canonical_sheet,
)
from etl.submission.lookups import Lookups, lookup_key
from etl.submission.parsing import (
    FALSE_WORDS,
    LEVEL_WORDS,
    PERSONAL_DATA,
    TRUE_WORDS,
    WHOLE_CANTON,
    ambiguous_period_message,
    excel_error_message,
    integer_messages,
    is_ambiguous_period,
    is_excel_error,
    mask_personal_data,
    parse_date,
    parse_integers,
    period_code_expr,
)
from etl.submission.reader import ROW, RawFile, RawSheet
from etl.submission.results import ERROR, WARNING, Issue

MAX_ISSUES = 1000  # kept per file; the count of all issues is kept too
MAX_TEXT_CHARS = 2000
# Observations may be dated a little before or after their period (noted late, or just before).
OBSERVATION_MARGIN = dt.timedelta(days=31)

ISSUE_SCHEMA = {
    "sheet": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "message": pl.String,
    "severity": pl.String,
    "cell": pl.String,
}
ACTIVITY_COLUMNS = [
    "member_code",
    "period_code",
    "year",
    "theme",
    "lieu",
    "ofs_number",
    *ACTIVITY_COUNT_COLUMNS,
]
SERVICE_COLUMNS = [
    "member_code",
    "period_code",
    "service_no",
    "nom",
    "theme",
    "type",
    "lieu",
    "ofs_number",
    "communes_desservies",
    "tout_le_canton",
    "adresse",
    "horaires",
    "contact",
    "conditions_acces",
    "langues",
    "capacite",
]
OBSERVATION_COLUMNS = [
    "member_code",
    "period_code",
    "obs_date",
    "theme",
    "lieu",
    "ofs_number",
    "niveau",
    "texte",
    "is_public",
]


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


_SHEET_ORDER = {"identification": 0, "activite": 1, "services": 2, "observations": 3}

# ---------------------------------------------------------------- issue helpers


class _Issues:
    """Collects issue frames; `rows` keeps the data rows in error per sheet (rows_rejected)."""

    def __init__(self) -> None:
        self.parts: list[pl.DataFrame] = []
        self.rows: list[pl.DataFrame] = []

    def add_rows(
        self,
        frame: pl.DataFrame,
        mask: pl.Expr,
        sheet: RawSheet,
        column: str,
        message: pl.Expr | str,
        value: pl.Expr | None = None,
        severity: str = ERROR,
    ) -> None:
        """One issue for each row of `frame` where `mask` holds."""
        failed = frame.filter(mask)
        if failed.height == 0:
            return
        letter = sheet.letters.get(column)
        cell = pl.lit(letter) + pl.col(ROW).cast(pl.String) if letter else pl.lit(None, pl.String)
        part = failed.select(
            pl.lit(sheet.title).alias("sheet"),
            pl.col(ROW).alias("row"),
            pl.lit(sheet.headers.get(column, column)).alias("column"),
            (pl.col(column) if value is None else value).cast(pl.String).alias("value"),
            (pl.lit(message) if isinstance(message, str) else message).alias("message"),
            pl.lit(severity).alias("severity"),
            cell.alias("cell"),
        )
        self.parts.append(part)
        if severity == ERROR:
            self.rows.append(part.select("sheet", "row"))

    def add(
        self,
        sheet: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
        severity: str = ERROR,
        cell: str | None = None,
    ) -> None:
        self.parts.append(
            pl.DataFrame(
                [
                    {
                        "sheet": sheet,
                        "row": row,
                        "column": column,
                        "value": value,
                        "message": message,
                        "severity": severity,
                        "cell": cell,
                    }
                ],
                schema=ISSUE_SCHEMA,
            )
        )

    def frame(self) -> pl.DataFrame:
        if not self.parts:
            return pl.DataFrame(schema=ISSUE_SCHEMA)
        return pl.concat(self.parts, how="vertical")

    def rejected_rows(self) -> int:
        if not self.rows:
            return 0
        return pl.concat(self.rows).unique().height


def _resolve_expr(
    frame: pl.DataFrame,
    column: str,
    lookup: pl.DataFrame,
    value: str,
    alias: str,
    distinct: pl.Series | None = None,
) -> pl.Expr:
    """Map a text column through a lookup on its distinct values (fast on a million rows); the
    mapping of the rows is an expression, so that several columns are mapped in one pass.
    `distinct`: the column's distinct values when the reader already has them."""
    if distinct is None:
        distinct = frame.select(pl.col(column).unique().drop_nulls().alias("__raw"))
    else:
        distinct = distinct.alias("__raw").to_frame()
    matched = distinct.with_columns(lookup_key(pl.col("__raw")).alias("key")).join(
        lookup.select("key", value), on="key", how="inner"
    )
    if (
        matched.height == distinct.height
        and frame.schema[column] == lookup.schema[value] == pl.String
        and matched["__raw"].eq_missing(matched[value]).all()
    ):  # every value is already written as it is stored (codes): the column as it is
        return pl.col(column).alias(alias)
    return (
        pl.col(column)
        .replace_strict(
            matched["__raw"], matched[value], default=None, return_dtype=lookup.schema[value]
        )
        .alias(alias)
    )


def _resolve(
    frame: pl.DataFrame, column: str, lookup: pl.DataFrame, value: str, alias: str
) -> pl.Series:
    return frame.select(_resolve_expr(frame, column, lookup, value, alias)).to_series()


def _period_range(periods: pl.DataFrame) -> tuple[int, int]:
    return periods["year"].min(), periods["year"].max()


def _unknown_member_message(value: str) -> str:
    return (
        f"Membre « {value} » inconnu du registre de la CAPAS. Indiquez le code qui vous a été "
        "attribué (il figure sur le modèle envoyé par le secrétariat). Nouveau membre : le "
        "secrétariat doit d'abord vous inscrire au registre."
    )


def _unknown(value: pl.Expr, suggestion: pl.Expr, message: str) -> pl.Expr:
    """The message for a value matching nothing (`message` has one {}, the value): an Excel error
    named as such, else the message with the closest known spellings when there are some."""
    return (
        pl.when(is_excel_error(value))
        .then(excel_error_message(value))
        .when(suggestion.is_not_null())
        .then(pl.format(message + CLOSE, value, suggestion))
        .otherwise(pl.format(message, value))
    )


def _or_excel_error(value: pl.Expr, message: pl.Expr) -> pl.Expr:
    return pl.when(is_excel_error(value)).then(excel_error_message(value)).otherwise(message)


UNKNOWN_THEME = (
    "Thème « {} » inconnu. Choisissez un thème de la liste (par exemple « Aide alimentaire » ou "
    "son code « alimentation »)."
)
UNKNOWN_PLACE = (
    "Commune « {} » inconnue. Choisissez l'une des 45 communes genevoises dans la liste (le numéro "
    "OFS, par exemple 6608, est aussi accepté), ou « hors canton », ou « non renseignée »."
)
UNKNOWN_MEMBER = (
    "Membre « {} » inconnu du registre de la CAPAS. Indiquez le code qui vous a été attribué. "
    "Nouveau membre : le secrétariat doit d'abord vous inscrire au registre."
)
UNKNOWN_SERVED = (
    "« {} » n'est pas une commune genevoise reconnue. Séparez les communes par des virgules, ou "
    "écrivez « tout le canton »."
)
CLOSE = " Vouliez-vous dire {} ?"  # after the message, so that it starts as it always did
# Free texts have no list of values; an Excel error in one is still a broken formula.
FREE_TEXT_COLUMNS = {
    "services": ["nom", "type", "adresse", "horaires", "contact", "conditions_acces", "langues"],
    "observations": ["texte"],
}

GRANULARITY_LABELS = {"annee": "l'année entière", "trimestre": "par trimestre", "mois": "par mois"}


class _Validator:
    """Applies every rule to one read file; `run()` returns the ValidatedFile."""

    def __init__(self, raw: RawFile, lookups: Lookups, today: dt.date) -> None:
        self.raw = raw
        self.lookups = lookups
        self.today = today
        self.issues = _Issues()
        for issue in raw.issues:
            self.issues.add(
                issue.sheet,
                issue.message,
                row=issue.row,
                column=issue.column,
                value=issue.value,
                severity=issue.severity,
                cell=issue.cell,
            )

    def run(self) -> ValidatedFile:
        member, period = self.identification()
        sheets = self.raw.sheets
        activity = (
            self.activity(sheets["activite"], member, period) if "activite" in sheets else None
        )
        slices = self.slices(activity, member, period)
        slice_member, slice_period = self.single_slice(slices, member, period)
        services = observations = None
        if "services" in sheets:
            services = self.services(sheets["services"], slice_member, slice_period)
        if "observations" in sheets:
            observations = self.observations(sheets["observations"], slice_member, slice_period)
        self.check_period_mixing(slices)
        rows_total = sum(sheet.frame.height for sheet in sheets.values())
        if rows_total == 0 and not self.raw.issues:
            self.issues.add(
                "—",
                "Le fichier ne contient aucune ligne de données : remplissez la "
                "feuille activite (une ligne par thème et par commune).",
            )
        contact, date_envoi = self.identification_extras()
        return ValidatedFile(
            raw=self.raw,
            activity=_select(activity, ACTIVITY_COLUMNS, ACTIVITY_SCHEMA),
            services=_select(services, SERVICE_COLUMNS, SERVICE_SCHEMA),
            observations=_select(observations, OBSERVATION_COLUMNS, OBSERVATION_SCHEMA),
            slices=slices.select("member_code", "period_code"),
            member_is_demo=self.member_flags(slices),
            member_names=self.member_names(slices),
            contact=contact,
            date_envoi=date_envoi,
            issues=self.issues.frame(),
            rows_total=rows_total,
            rows_rejected=self.issues.rejected_rows(),
            rows_skipped=sum(sheet.skipped_rows for sheet in sheets.values()),
        )

    # -- identification

    def identification(self) -> tuple[str | None, str | None]:
        """The member and period named on the identification sheet (None if absent or wrong)."""
        cells = self.raw.identification
        member = period = None
        if "membre" in cells:
            member = self._identify_member(cells["membre"])
        if "periode" in cells:
            period = self._identify_period(cells["periode"])
        if self.raw.kind == "xlsx" and "activite" in self.raw.sheets:
            headers = self.raw.sheets["activite"].headers
            for name in ("membre", "periode"):
                if name not in cells and name not in headers:
                    what = "le code du membre" if name == "membre" else "la période"
                    self.issues.add(
                        self.raw.identification_title,
                        f"Indiquez {what} sur la feuille identification (cellule à "
                        f"droite de « {name} »).",
                        column=name,
                    )
        return member, period

    def _cell_ref(self, cell) -> str | None:
        return f"{cell.letter}{cell.row}" if cell.letter and cell.row else None

    def _identify_member(self, cell) -> str | None:
        title = self.raw.identification_title
        if cell.value is None:
            self.issues.add(
                title,
                "Le code du membre est vide. Indiquez le code attribué par la CAPAS.",
                row=cell.row,
                column="membre",
                cell=self._cell_ref(cell),
            )
            return None
        frame = pl.DataFrame({"membre": [cell.value]}, schema={"membre": pl.String})
        resolved = _resolve(frame, "membre", self.lookups.members, "member_code", "m")[0]
        if resolved is None:
            close = suggestions.for_members(frame["membre"], self.lookups)
            message = frame.select(
                pl.when(is_excel_error(pl.col("membre")))
                .then(excel_error_message(pl.col("membre")))
                .when(suggestions.suggested("membre", close).is_not_null())
                .then(
                    pl.format(
                        _unknown_member_message("{}") + CLOSE,
                        "membre",
                        suggestions.suggested("membre", close),
                    )
                )
                .otherwise(pl.lit(_unknown_member_message(cell.value)))
            ).item()
            self.issues.add(
                title,
                message,
                row=cell.row,
                column="membre",
                value=cell.value,
                cell=self._cell_ref(cell),
            )
        return resolved

    def _identify_period(self, cell) -> str | None:
        title = self.raw.identification_title
        if cell.value is None:
            self.issues.add(
                title,
                "La période est vide. Indiquez par exemple 2025, 2025-T1 ou 2025-03.",
                row=cell.row,
                column="periode",
                cell=self._cell_ref(cell),
            )
            return None
        frame = self._periods(
            pl.DataFrame({"periode": [cell.value]}, schema={"periode": pl.String})
        )
        message = frame["__period_problem"][0]
        if message is not None:
            self.issues.add(
                title,
                message,
                row=cell.row,
                column="periode",
                value=cell.value,
                cell=self._cell_ref(cell),
            )
            return None
        return frame["__period"][0]

    def identification_extras(self) -> tuple[str | None, dt.date | None]:
        cells = self.raw.identification
        contact = cells["contact"].value if "contact" in cells else None
        date_envoi = None
        if "date_envoi" in cells and cells["date_envoi"].value is not None:
            cell = cells["date_envoi"]
            date_envoi = pl.select(parse_date(pl.lit(cell.value, pl.String))).item()
            if date_envoi is None:
                self.issues.add(
                    self.raw.identification_title,
                    f"Date d'envoi « {cell.value} » non reconnue (jj.mm.aaaa) : elle est ignorée.",
                    row=cell.row,
                    column="date_envoi",
                    value=cell.value,
                    severity=WARNING,
                    cell=self._cell_ref(cell),
                )
        return contact, date_envoi

    # -- periods

    def _periods(self, frame: pl.DataFrame, distinct: pl.Series | None = None) -> pl.DataFrame:
        """Add __period (the canonical code, when valid) and __period_problem (French, or null).

        Worked out on the distinct values written (`distinct` when the reader has them), then
        mapped back onto the rows.
        """
        first, last = _period_range(self.lookups.periods)
        if distinct is None:
            distinct = frame.select(pl.col("periode").unique().drop_nulls().alias("periode"))
        else:
            distinct = distinct.alias("periode").to_frame()
        written = pl.col("periode")
        checked = (
            distinct.with_columns(period_code_expr(written).alias("code"))
            .join(self.lookups.periods, left_on="code", right_on="period_code", how="left")
            .with_columns(
                pl.when(is_excel_error(written))
                .then(excel_error_message(written))
                .when(is_ambiguous_period(written))
                .then(
                    ambiguous_period_message(
                        written,
                        written.str.extract(r"(\d{4})"),
                        written.str.replace(r"\d{4}", "").str.extract(r"([1-4])"),
                    )
                )
                .when(pl.col("granularity").is_null())
                .then(
                    pl.format(
                        "Période « {} » non reconnue. Écrivez l'année (2025), le trimestre "
                        f"(2025-T1 à 2025-T4) ou le mois (2025-03), entre {first} et {last}.",
                        pl.col("periode"),
                    )
                )
                .when(pl.col("start_date") > self.today)
                .then(
                    pl.format(
                        "La période « {} » n'a pas encore commencé (elle débute le {}) : on ne "
                        "peut déclarer qu'une période commencée.",
                        pl.col("code"),
                        pl.col("start_date").dt.strftime("%d.%m.%Y"),
                    )
                )
                .alias("problem")
            )
            .with_columns(pl.when(pl.col("problem").is_null()).then(pl.col("code")).alias("code"))
        )

        def mapped(column: str) -> pl.Expr:
            if checked[column].null_count() == checked.height:  # e.g. no problem at all
                return pl.lit(None, pl.String)
            if checked[column].null_count() == 0 and checked[column].eq(checked["periode"]).all():
                return pl.col("periode")  # every period already written as its code
            return pl.col("periode").replace_strict(
                checked["periode"], checked[column], default=None, return_dtype=pl.String
            )

        return frame.with_columns(
            mapped("code").alias("__period"), mapped("problem").alias("__period_problem")
        )

    # -- activity

    def activity(self, sheet: RawSheet, member: str | None, period: str | None) -> pl.DataFrame:
        frame = sheet.frame
        known = sheet.distinct
        frame = frame.with_columns(
            _resolve_expr(
                frame,
                "membre",
                self.lookups.members,
                "member_code",
                "__member",
                known.get("membre"),
            ),
            _resolve_expr(
                frame, "theme", self.lookups.themes, "theme", "__theme", known.get("theme")
            ),
            _resolve_expr(
                frame, "commune", self.lookups.places, "lieu", "lieu", known.get("commune")
            ),
        )
        frame = self._member_column(frame, sheet, member)
        frame = self._period_column(frame, sheet, period)
        self._check_theme(frame, sheet)
        self._check_place(frame, sheet, required=True)
        frame = self._counts(frame, sheet)
        self._check_breakdowns(frame, sheet)
        self._check_duplicates(frame, sheet)
        return frame.with_columns(
            pl.col("__theme").alias("theme"),
            pl.col("lieu").cast(pl.Int32, strict=False).alias("ofs_number"),
        )

    def _member_column(
        self, frame: pl.DataFrame, sheet: RawSheet, member: str | None
    ) -> pl.DataFrame:
        given = pl.col("membre").is_not_null()
        unknown = given & pl.col("__member").is_null()
        self._report_unknown(
            frame, unknown, sheet, "membre", suggestions.for_members, UNKNOWN_MEMBER
        )
        if member is not None:
            self.issues.add_rows(
                frame,
                given & (pl.col("__member") != member),
                sheet,
                "membre",
                pl.format(
                    "Le membre « {} » n'est pas celui de la feuille identification (« "
                    + member
                    + " ») : un classeur ne concerne qu'un membre.",
                    pl.col("membre"),
                ),
            )
        elif "membre" not in self.raw.identification and self.raw.kind == "csv":
            self.issues.add_rows(
                frame,
                ~given,
                sheet,
                "membre",
                "Membre manquant : indiquez le code du membre sur chaque ligne.",
            )
        return frame.with_columns(
            pl.when(given)
            .then(pl.col("__member"))
            .otherwise(pl.lit(member, pl.String))
            .alias("member_code")
        )

    def _period_column(
        self, frame: pl.DataFrame, sheet: RawSheet, period: str | None
    ) -> pl.DataFrame:
        frame = self._periods(frame, sheet.distinct.get("periode"))
        given = pl.col("periode").is_not_null()
        problems = pl.col("__period_problem")
        self.issues.add_rows(frame, given & problems.is_not_null(), sheet, "periode", problems)
        if period is not None:
            self.issues.add_rows(
                frame,
                given & problems.is_null() & (pl.col("__period") != period),
                sheet,
                "periode",
                pl.format(
                    "La période « {} » n'est pas celle de la feuille identification (« "
                    + period
                    + " ») : un classeur ne concerne qu'une période.",
                    pl.col("periode"),
                ),
            )
        elif "periode" not in self.raw.identification and self.raw.kind == "csv":
            self.issues.add_rows(
                frame,
                ~given,
                sheet,
                "periode",
                "Période manquante : indiquez la période sur chaque ligne.",
            )
        period_code = (
            pl.when(given & problems.is_null())
            .then(pl.col("__period"))
            .when(~given)
            .then(pl.lit(period, pl.String))
        )
        periods = self.lookups.periods
        return frame.with_columns(period_code.alias("period_code")).with_columns(
            pl.col("period_code")
            .replace_strict(periods["period_code"], periods["year"], default=None)
            .alias("year")
        )

    def _report_unknown(
        self, frame: pl.DataFrame, unknown: pl.Expr, sheet: RawSheet, column: str, suggest, message
    ) -> None:
        """Values matching nothing (`unknown`), each with the closest known spellings if any."""
        failed = frame.filter(unknown)
        if failed.height == 0:
            return
        close = suggest(failed[column], self.lookups)
        value = pl.col(column)
        self.issues.add_rows(
            failed,
            pl.lit(True),
            sheet,
            column,
            _unknown(value, suggestions.suggested(value, close), message),
        )

    def _check_theme(self, frame: pl.DataFrame, sheet: RawSheet) -> None:
        self.issues.add_rows(
            frame,
            pl.col("theme").is_null(),
            sheet,
            "theme",
            "Thème manquant : choisissez un thème dans la liste.",
        )
        unknown = pl.col("theme").is_not_null() & pl.col("__theme").is_null()
        self._report_unknown(frame, unknown, sheet, "theme", suggestions.for_themes, UNKNOWN_THEME)

    def _check_place(self, frame: pl.DataFrame, sheet: RawSheet, *, required: bool) -> None:
        if required:
            self.issues.add_rows(
                frame,
                pl.col("commune").is_null(),
                sheet,
                "commune",
                "Commune manquante : choisissez une commune dans la liste, ou « hors canton », ou "
                "« non renseignée » si vous ne la connaissez pas.",
            )
        unknown = pl.col("commune").is_not_null() & pl.col("lieu").is_null()
        self._report_unknown(
            frame, unknown, sheet, "commune", suggestions.for_places, UNKNOWN_PLACE
        )

    def _integer_column(
        self,
        frame: pl.DataFrame,
        sheet: RawSheet,
        column: str,
        *,
        required_label: str | None,
        as_int32: pl.Series | None = None,
    ) -> pl.Series:
        """Parse one count column, reporting what is not a whole number ≥ 0."""
        values, kind = parse_integers(frame, column, as_int32)
        if kind is not None and required_label is None:  # "-" or "n.d." when optional: unknown
            kind = kind.replace({"marque": None})
        if kind is not None and kind.null_count() < frame.height:
            checked = frame.select(
                ROW, pl.col(column), pl.col(column).alias("__value"), kind.alias("__kind")
            )
            self.issues.add_rows(
                checked,
                pl.col("__kind").is_not_null(),
                sheet,
                column,
                integer_messages(
                    pl.col("__kind"), required_label or "", required_label is not None
                ),
            )
        if required_label is not None:
            missing = values.is_null() if kind is None else values.is_null() & kind.is_null()
            self.issues.add_rows(
                frame.with_columns(missing.alias("__missing")),
                pl.col("__missing"),
                sheet,
                column,
                f"Valeur manquante : indiquez le nombre de {required_label} (0 s'il n'y en a pas).",
            )
        return values

    def _counts(self, frame: pl.DataFrame, sheet: RawSheet) -> pl.DataFrame:
        # The plain casts of every count column in one pass (columns in parallel).
        as_int32 = frame.select(
            pl.col(column).cast(pl.Int32, strict=False) for column in ACTIVITY_COUNT_COLUMNS
        )
        parsed = [
            self._integer_column(
                frame,
                sheet,
                column,
                required_label="personnes servies" if column == "personnes" else None,
                as_int32=as_int32[column],
            ).alias(f"n_{column}")
            for column in ACTIVITY_COUNT_COLUMNS
        ]
        return frame.with_columns(parsed)

    def _check_breakdowns(self, frame: pl.DataFrame, sheet: RawSheet) -> None:
        persons = pl.col("n_personnes")
        labels = {
            "nouvelles_personnes": "nouvelles personnes",
            "femmes": "femmes",
            "hommes": "hommes",
            "mineurs": "mineurs",
            "seniors_65": "seniors de 65 ans et plus",
        }
        for column in BREAKDOWN_COLUMNS:
            value = pl.col(f"n_{column}")
            self.issues.add_rows(
                frame,
                value > persons,
                sheet,
                column,
                pl.format(
                    "{} " + labels[column] + " pour {} personnes servies : ce nombre fait "
                    "partie des personnes servies et ne peut pas le dépasser.",
                    value,
                    persons,
                ),
            )
        for first, second, what in [
            ("femmes", "hommes", "femmes + hommes"),
            ("mineurs", "seniors_65", "mineurs + seniors de 65 ans et plus"),
        ]:
            a, b = pl.col(f"n_{first}"), pl.col(f"n_{second}")
            within = (a <= persons) & (b <= persons)  # otherwise already reported above
            self.issues.add_rows(
                frame,
                within & (a + b > persons),
                sheet,
                first,
                pl.format(
                    what + " = {} + {} = {}, plus que les {} personnes servies. Vérifiez ces "
                    "deux colonnes.",
                    a,
                    b,
                    a + b,
                    persons,
                ),
                value=pl.format("{} + {}", a, b),
            )

    def _check_duplicates(self, frame: pl.DataFrame, sheet: RawSheet) -> None:
        keys = ["member_code", "period_code", "__theme", "lieu"]
        is_complete = pl.all_horizontal(pl.col(keys).is_not_null())
        # Equal keys have equal hashes: sorted row hashes with no two alike mean no duplicate at
        # all, which is what a valid file costs (a sort of integers, not a hash table of rows).
        hashes = frame.select(keys).filter(is_complete).hash_rows().sort()
        if not (hashes == hashes.shift(1)).any():
            return
        complete = frame.filter(is_complete)
        # A 64-bit hash finds candidates cheaply; the exact keys then decide among them.
        candidates = complete.filter(pl.struct(keys).hash().is_duplicated())
        if (
            candidates.height == 0
            or not candidates.select(pl.struct(keys).is_duplicated().any()).item()
        ):
            return
        marked = candidates.with_columns(pl.col(ROW).min().over(keys).alias("__first"))
        self.issues.add_rows(
            marked,
            pl.col(ROW) != pl.col("__first"),
            sheet,
            "commune",
            pl.format(
                "Ligne en double : même thème et même commune (et même membre et période) "
                "qu'à la ligne {}. Additionnez les deux lignes ou supprimez-en une.",
                pl.col("__first"),
            ),
            value=pl.format("{} / {}", pl.col("theme"), pl.col("commune")),
        )

    # -- slices

    def slices(
        self, activity: pl.DataFrame | None, member: str | None, period: str | None
    ) -> pl.DataFrame:
        """The (member, period) pairs the file declares, with the first row that names each."""
        schema = {"member_code": pl.String, "period_code": pl.String, "first_row": pl.Int64}
        parts = []
        if activity is not None and activity.height:
            parts.append(
                activity.select("member_code", "period_code", ROW)
                .filter(pl.col("member_code").is_not_null() & pl.col("period_code").is_not_null())
                .group_by("member_code", "period_code")
                .agg(pl.col(ROW).min().alias("first_row"))
            )
        if member is not None and period is not None:
            parts.append(
                pl.DataFrame(
                    [{"member_code": member, "period_code": period, "first_row": None}],
                    schema=schema,
                )
            )
        if not parts:
            return pl.DataFrame(schema=schema)
        return (
            pl.concat([p.select(schema.keys()).cast(schema) for p in parts])
            .group_by("member_code", "period_code")
            .agg(pl.col("first_row").min())
            .sort("member_code", "period_code")
        )

    def single_slice(
        self, slices: pl.DataFrame, member: str | None, period: str | None
    ) -> tuple[str | None, str | None]:
        """Services and observations belong to one member × period."""
        if member is not None and period is not None:
            return member, period
        if slices.height == 1:
            return slices["member_code"][0], slices["period_code"][0]
        has_other_rows = any(
            name in self.raw.sheets and self.raw.sheets[name].frame.height
            for name in ("services", "observations")
        )
        if slices.height > 1 and has_other_rows:
            self.issues.add(
                "—",
                "Les feuilles services et observations ne peuvent accompagner "
                "qu'un seul membre et une seule période : ce fichier en contient "
                f"{slices.height}. Envoyez un classeur par membre et par période.",
            )
        return None, None

    def check_period_mixing(self, slices: pl.DataFrame) -> None:
        """An annual figure is the sum of its quarters or months: one granularity per member and year."""
        if slices.height == 0:
            return
        periods = self.lookups.periods.select("period_code", "granularity", "year")
        in_file = slices.join(periods, on="period_code").with_columns(pl.lit(False).alias("loaded"))
        loaded = self.lookups.submissions.join(
            slices.select("member_code", "period_code"),
            on=["member_code", "period_code"],
            how="anti",
        ).join(in_file.select("member_code", "year").unique(), on=["member_code", "year"])
        combined = pl.concat(
            [
                in_file.select(
                    "member_code", "period_code", "granularity", "year", "loaded", "first_row"
                ),
                loaded.select(
                    "member_code",
                    "period_code",
                    "granularity",
                    "year",
                    pl.lit(True).alias("loaded"),
                    pl.lit(None, pl.Int64).alias("first_row"),
                ),
            ]
        )
        mixed = combined.filter(pl.col("granularity").n_unique().over("member_code", "year") > 1)
        for (member, year), group in mixed.group_by("member_code", "year", maintain_order=True):
            listing = ", ".join(
                f"{code} (déjà chargée)" if was_loaded else code
                for code, was_loaded in group.sort("period_code")
                .select("period_code", "loaded")
                .iter_rows()
            )
            kinds = " et ".join(sorted({GRANULARITY_LABELS[g] for g in group["granularity"]}))
            message = (
                f"Périodicités mélangées pour le membre {member} en {year} : {listing}. Une année "
                f"se déclare soit en entier, soit par trimestre, soit par mois (ici : {kinds}), car "
                "le chiffre annuel est la somme des trimestres ou des mois. Gardez une seule "
                "périodicité pour cette année, ou demandez au secrétariat de retirer les données "
                "déjà chargées."
            )
            self._slice_issue(group.filter(~pl.col("loaded")), message)

    def _slice_issue(self, file_slices: pl.DataFrame, message: str) -> None:
        cell = self.raw.identification.get("periode")
        first_rows = [row for row in file_slices["first_row"].to_list() if row is not None]
        if cell is not None or not first_rows:
            self.issues.add(
                self.raw.identification_title,
                message,
                row=cell.row if cell else None,
                column="periode",
                value=cell.value if cell else None,
                cell=self._cell_ref(cell) if cell else None,
            )
            return
        sheet = self.raw.sheets["activite"]
        for row in first_rows:
            self.issues.add(
                sheet.title,
                message,
                row=row,
                column=sheet.headers.get("periode", "periode"),
                value=None,
            )
        self.issues.rows.append(
            pl.DataFrame(
                {"sheet": [sheet.title] * len(first_rows), "row": first_rows},
                schema={"sheet": pl.String, "row": pl.Int64},
            )
        )

    def member_flags(self, slices: pl.DataFrame) -> dict[str, bool]:
        members = self.lookups.members.select("member_code", "is_demo").unique("member_code")
        flags = slices.select("member_code").unique().join(members, on="member_code", how="left")
        return {code: bool(flag) for code, flag in flags.iter_rows()}

    def member_names(self, slices: pl.DataFrame) -> dict[str, str]:
        members = self.lookups.members.select("member_code", "name").unique("member_code")
        names = slices.select("member_code").unique().join(members, on="member_code", how="left")
        return dict(names.iter_rows())

    # -- services

    def services(self, sheet: RawSheet, member: str | None, period: str | None) -> pl.DataFrame:
        frame = sheet.frame
        frame = frame.with_columns(
            _resolve(frame, "theme", self.lookups.themes, "theme", "__theme"),
            _resolve(frame, "commune", self.lookups.places, "lieu", "lieu"),
        )
        self.issues.add_rows(
            frame,
            pl.col("nom").is_null(),
            sheet,
            "nom",
            "Nom du service manquant : indiquez le nom du service.",
        )
        self._check_theme(frame, sheet)
        self._check_place(frame, sheet, required=True)
        self._check_free_texts(frame, sheet)
        capacity = self._integer_column(frame, sheet, "capacite", required_label=None)
        served = self._communes_served(frame, sheet)
        languages = (
            pl.col("langues")
            .str.replace_all(r"[;|/]", ",")
            .str.split(",")
            .list.eval(pl.element().str.strip_chars().str.to_lowercase())
            .list.eval(pl.element().filter(pl.element().str.len_chars() > 0))
        )
        return (
            frame.with_columns(capacity.alias("capacite"))
            .drop("communes_desservies")
            .join(served, on=ROW, how="left", maintain_order="left")
            .with_columns(
                pl.lit(member, pl.String).alias("member_code"),
                pl.lit(period, pl.String).alias("period_code"),
                pl.int_range(1, frame.height + 1, dtype=pl.Int32).alias("service_no"),
                pl.col("__theme").alias("theme"),
                pl.col("type").str.to_lowercase(),
                pl.col("lieu").cast(pl.Int32, strict=False).alias("ofs_number"),
                languages.alias("langues"),
            )
            .with_columns(
                # Nothing written: the service serves the commune where it is.
                pl.when(
                    pl.col("communes_desservies").is_null() & pl.col("ofs_number").is_not_null()
                )
                .then(pl.concat_list(pl.col("ofs_number")))
                .otherwise(pl.col("communes_desservies").fill_null(pl.lit([], pl.List(pl.Int32))))
                .alias("communes_desservies"),
                pl.col("tout_le_canton").fill_null(False),
            )
        )

    def _communes_served(self, frame: pl.DataFrame, sheet: RawSheet) -> pl.DataFrame:
        """ROW -> communes_desservies (OFS numbers) and tout_le_canton, reporting unknown names."""
        text = pl.col("communes_desservies")
        whole_keys = pl.Series(WHOLE_CANTON)
        marked = frame.select(
            ROW,
            "communes_desservies",
            lookup_key(text).is_in(whole_keys.implode()).alias("tout_le_canton"),
        )
        all_communes = self.lookups.commune_names["ofs_number"].cast(pl.Int32).sort().to_list()
        items = (
            marked.filter(text.is_not_null() & ~pl.col("tout_le_canton"))
            .select(ROW, text.str.replace_all(r"[;|]", ",").str.split(",").alias("item"))
            .explode("item")
            .with_columns(pl.col("item").str.strip_chars())
            .filter(pl.col("item").str.len_chars() > 0)
        )
        items = items.with_columns(_resolve(items, "item", self.lookups.places, "lieu", "lieu"))
        items = items.with_columns(pl.col("lieu").cast(pl.Int32, strict=False).alias("ofs"))
        self._report_unknown(
            items.with_columns(pl.col("item").alias("communes_desservies")),
            pl.col("ofs").is_null(),
            sheet,
            "communes_desservies",
            suggestions.for_places,
            UNKNOWN_SERVED,
        )
        listed = (
            items.filter(pl.col("ofs").is_not_null())
            .group_by(ROW)
            .agg(pl.col("ofs").unique().sort().alias("communes_desservies"))
        )
        return (
            marked.select(ROW, "tout_le_canton")
            .join(listed, on=ROW, how="left")
            .with_columns(
                pl.when(pl.col("tout_le_canton"))
                .then(pl.lit(all_communes, pl.List(pl.Int32)))
                .otherwise(pl.col("communes_desservies"))
                .alias("communes_desservies")
            )
        )

    # -- observations

    def observations(self, sheet: RawSheet, member: str | None, period: str | None) -> pl.DataFrame:
        frame = sheet.frame
        frame = frame.with_columns(
            _resolve(frame, "theme", self.lookups.themes, "theme", "__theme"),
            _resolve(frame, "commune", self.lookups.places, "lieu", "lieu"),
            parse_date(pl.col("date")).alias("obs_date"),
            lookup_key(pl.col("niveau"))
            .replace_strict(LEVEL_WORDS, default=None)
            .alias("__niveau"),
            lookup_key(pl.col("public")).alias("__public"),
        )
        self._check_theme(frame, sheet)
        self._check_place(frame, sheet, required=False)
        self._check_observation_dates(frame, sheet, period)
        self.issues.add_rows(
            frame,
            pl.col("niveau").is_null(),
            sheet,
            "niveau",
            "Niveau manquant : choisissez information, vigilance ou alerte.",
        )
        self.issues.add_rows(
            frame,
            pl.col("niveau").is_not_null() & pl.col("__niveau").is_null(),
            sheet,
            "niveau",
            _or_excel_error(
                pl.col("niveau"),
                pl.format(
                    "Niveau « {} » inconnu : choisissez "
                    + ", ".join(LEVELS[:-1])
                    + " ou "
                    + LEVELS[-1]
                    + ".",
                    pl.col("niveau"),
                ),
            ),
        )
        public = pl.col("__public")
        is_public = (
            pl.when(public.is_in(TRUE_WORDS))
            .then(True)
            .when(public.is_in(FALSE_WORDS) | public.is_null())
            .then(False)
        )
        self.issues.add_rows(
            frame,
            public.is_not_null() & is_public.is_null(),
            sheet,
            "public",
            _or_excel_error(
                pl.col("public"),
                pl.format(
                    "« {} » : écrivez oui (l'observation peut être publiée) ou non (réservée au "
                    "secrétariat).",
                    pl.col("public"),
                ),
            ),
        )
        self._check_text(frame, sheet)
        self._check_free_texts(frame, sheet)
        return frame.with_columns(
            pl.lit(member, pl.String).alias("member_code"),
            pl.lit(period, pl.String).alias("period_code"),
            pl.col("__theme").alias("theme"),
            pl.col("lieu").cast(pl.Int32, strict=False).alias("ofs_number"),
            pl.col("__niveau").alias("niveau"),
            is_public.alias("is_public"),
        )

    def _check_observation_dates(
        self, frame: pl.DataFrame, sheet: RawSheet, period: str | None
    ) -> None:
        date = pl.col("obs_date")
        self.issues.add_rows(
            frame,
            pl.col("date").is_null(),
            sheet,
            "date",
            "Date manquante : indiquez la date de l'observation (jj.mm.aaaa).",
        )
        self.issues.add_rows(
            frame,
            pl.col("date").is_not_null() & date.is_null(),
            sheet,
            "date",
            _or_excel_error(
                pl.col("date"),
                pl.format(
                    "Date « {} » non reconnue : écrivez-la jj.mm.aaaa, par exemple 15.03.2025.",
                    pl.col("date"),
                ),
            ),
        )
        self.issues.add_rows(
            frame,
            date > self.today,
            sheet,
            "date",
            pl.format("La date {} est dans le futur.", date.dt.strftime("%d.%m.%Y")),
            value=date.dt.strftime("%d.%m.%Y"),
        )
        if period is None:
            return
        bounds = self.lookups.periods.filter(pl.col("period_code") == period).row(0, named=True)
        start, end = bounds["start_date"], bounds["end_date"]
        outside = (date < start - OBSERVATION_MARGIN) | (date > end + OBSERVATION_MARGIN)
        self.issues.add_rows(
            frame,
            outside & (date <= self.today),
            sheet,
            "date",
            pl.format(
                f"La date {{}} est en dehors de la période {period} (du "
                f"{start:%d.%m.%Y} au {end:%d.%m.%Y}, à un mois près). Vérifiez la date ou "
                "envoyez l'observation avec la période concernée.",
                date.dt.strftime("%d.%m.%Y"),
            ),
            value=date.dt.strftime("%d.%m.%Y"),
        )

    def _check_free_texts(self, frame: pl.DataFrame, sheet: RawSheet) -> None:
        """An Excel error (#N/A…) in a free text is a broken formula, not a text to publish."""
        for column in FREE_TEXT_COLUMNS[sheet.name]:
            value = pl.col(column)
            self.issues.add_rows(
                frame, is_excel_error(value), sheet, column, excel_error_message(value)
            )

    def _check_text(self, frame: pl.DataFrame, sheet: RawSheet) -> None:
        text = pl.col("texte")
        shown = mask_personal_data(text)
        self.issues.add_rows(
            frame, text.is_null(), sheet, "texte", "Texte manquant : décrivez ce que vous observez."
        )
        self.issues.add_rows(
            frame,
            text.str.len_chars() > MAX_TEXT_CHARS,
            sheet,
            "texte",
            pl.format(
                f"Le texte compte {{}} caractères ; {MAX_TEXT_CHARS} au plus. Raccourcissez-le.",
                text.str.len_chars(),
            ),
            value=shown,
        )
        found = pl.concat_list(
            [
                pl.when(text.str.contains(pattern)).then(pl.lit(what))
                for what, pattern in PERSONAL_DATA.items()
            ]
        ).list.drop_nulls()
        self.issues.add_rows(
            frame.with_columns(found.alias("__found")),
            pl.col("__found").list.len() > 0,
            sheet,
            "texte",
            pl.format(
                "Le texte contient {} (masqué ci-contre). Les observations ne doivent contenir "
                "aucune donnée personnelle : retirez-la ou remplacez-la par une description "
                "générale.",
                pl.col("__found").list.join(" et "),
            ),
            value=shown,
        )


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


def _select(frame: pl.DataFrame | None, columns: list[str], schema: dict) -> pl.DataFrame:
    if frame is None:
        return pl.DataFrame(schema=schema)
    if "n_personnes" in frame.columns:  # activity: the parsed counts replace the text
        frame = frame.drop(ACTIVITY_COUNT_COLUMNS).rename(
            {f"n_{column}": column for column in ACTIVITY_COUNT_COLUMNS}
        )
    return frame.select(pl.col(column).cast(schema[column]) for column in columns)


def validate_raw(raw: RawFile, lookups: Lookups, today: dt.date | None = None) -> ValidatedFile:
    """Apply every rule of DESIGN §4 to one read file (no database access beyond `lookups`)."""
    return _Validator(raw, lookups, today or dt.date.today()).run()
