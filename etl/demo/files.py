"""Write the demo members' submission files, as members send them (DESIGN §4).

Which files a member sends follows its profile:
- the last period of each year comes as a full workbook (identification, activite, services,
  observations): the directory is updated once a year;
- a member working in Excel (`format` xlsx) sends every other period as a light workbook
  (identification, activite, and observations when it has some);
- a member exporting CSV sends the activite sheet alone, with `membre` and `periode` on every row:
  one file per quarter (its three months for a monthly member; October–November for the last one).

Some members are messy in the ways the loader accepts (profile column `desordre`): a title above the
header, blank and « Total » rows, headers with accents or in another case and order, 1'234, trailing
spaces, commune aliases or OFS numbers, theme labels, 2024-Q1. The year-end workbooks of the members
who rename headers (`entetes`) are « real Excel »: written with xlsxwriter (shared strings, date
cells, bold headers); the others with the fast writer of etl.demo.xlsx (inline strings, dates as
text), which is ten times faster.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from etl.demo.activity import DemoContext, period_end
from etl.demo.directory import communes_served, member_services
from etl.demo.members import Member
from etl.demo.observations import member_observations
from etl.demo.parameters import COLUMN_SETS
from etl.demo.xlsx import write_workbook
from etl.paths import DATA_DIR
from etl.submission.columns import column_letter
from etl.vocabulary import OUTSIDE_CANTON, PLACE_NOT_GIVEN

FILES_STREAM = 4
OBSERVATIONS_PER_PERIOD = {"mois": 0.3, "trimestre": 0.8, "annee": 2.0}
YEAR_END_OBSERVATIONS = 1.0  # CSV members write observations only in their year-end workbook
PLACE_TEXT = {OUTSIDE_CANTON: "hors canton", PLACE_NOT_GIVEN: "non renseignée"}
PLACE_TEXT_MESSY = {OUTSIDE_CANTON: "Hors canton", PLACE_NOT_GIVEN: "Inconnue"}
MESSY_HEADERS = {
    "membre": "Membre",
    "periode": "Période",
    "theme": "Thème",
    "commune": "Commune de domicile",
    "personnes": "Nombre de personnes",
    "prestations": "Prestations",
    "nouvelles_personnes": "Nouvelles personnes",
    "femmes": "FEMMES",
    "hommes": "HOMMES",
    "mineurs": "Mineurs",
    "seniors_65": "Seniors (65+)",
    "demandes_non_satisfaites": "Demandes non satisfaites",
    "liste_attente": "Liste d'attente",
    "nom": "Nom du service",
    "type": "Type",
    "communes_desservies": "Communes desservies",
    "adresse": "Adresse",
    "horaires": "Horaires",
    "contact": "Contact",
    "conditions_acces": "Conditions d'accès",
    "langues": "Langues",
    "capacite": "Capacité",
    "date": "Date",
    "niveau": "Niveau",
    "texte": "Texte",
    "public": "Public",
}
SERVICE_COLUMNS = (
    "nom",
    "theme",
    "type",
    "commune",
    "communes_desservies",
    "adresse",
    "horaires",
    "contact",
    "conditions_acces",
    "langues",
    "capacite",
)
OBSERVATION_COLUMNS = ("date", "theme", "commune", "niveau", "texte", "public")


@dataclass(frozen=True)
class PlannedFile:
    member: Member
    periods: tuple[str, ...]
    kind: str  # csv | xlsx
    full: bool  # with the services and observations sheets

    @property
    def year(self) -> int:
        return int(self.periods[0][:4])

    @property
    def file_name(self) -> str:
        first, last = self.periods[0], self.periods[-1]
        span = first if len(self.periods) == 1 else f"{first}_{last}"
        return f"{self.member.code}_{span}.{self.kind}"


def plan_files(member: Member, periods: list[str], recent_from: int) -> list[PlannedFile]:
    """The files a member sends for its periods (in order), following its profile.

    Years before `recent_from` are history: a member exporting CSV sent them as one file when it
    joined the observatory. From `recent_from` on, it sends each year one CSV for all periods but the
    last, and the year-end workbook. A member working in Excel sends one workbook per period.
    """
    planned = []
    by_year: dict[int, list[str]] = {}
    for code in periods:
        by_year.setdefault(int(code[:4]), []).append(code)
    in_excel = member.file_format == "xlsx" or member.frequency == "annee"
    history = [code for year, codes in by_year.items() if year < recent_from for code in codes]
    if history and not in_excel:
        planned.append(PlannedFile(member, tuple(history), "csv", False))
    for year, codes in by_year.items():
        if year < recent_from and not in_excel:
            continue
        *rest, last = codes
        if in_excel:
            planned += [PlannedFile(member, (code,), "xlsx", False) for code in rest]
        elif rest:
            planned.append(PlannedFile(member, tuple(rest), "csv", False))
        planned.append(PlannedFile(member, (last,), "xlsx", True))
    return planned


# ------------------------------------------------------------------ rendering


@dataclass(frozen=True)
class Labels:
    """How places and themes are written, per member (aliases chosen once, kept every time)."""

    place: dict[str, str]  # lieu -> text
    theme: dict[str, str]  # code -> text


def _ascii(text: str) -> str:
    text = text.replace("œ", "oe").replace("Œ", "Oe")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def member_labels(
    member: Member, context: DemoContext, theme_labels: dict[str, str], rng: np.random.Generator
) -> Labels:
    communes = context.territory.communes.select("ofs_number", "name")
    variants_by_ofs = dict(
        context.territory.aliases.filter(~pl.col("alias").str.contains("Ã"))  # mis-decoded forms
        .group_by("ofs_number")
        .agg(pl.col("alias").sort())
        .iter_rows()
    )
    place = {str(ofs): name for ofs, name in communes.iter_rows()}
    messy = set(member.mess)
    if "alias" in messy:
        for ofs, name in communes.iter_rows():
            variants = [a for a in variants_by_ofs.get(ofs, []) if a != name]
            if _ascii(name) != name:
                variants.append(_ascii(name))
            if variants and rng.random() < 0.6:
                place[str(ofs)] = variants[int(rng.integers(len(variants)))]
    if "ofs" in messy:
        for ofs in list(place):
            if rng.random() < 0.5:
                place[ofs] = ofs
    place.update(PLACE_TEXT_MESSY if "libelles" in messy else PLACE_TEXT)
    theme = {code: code for code in theme_labels}
    if "libelles" in messy:
        theme = dict(theme_labels)
    if "espaces" in messy:
        place = {key: f"{value}  " for key, value in place.items()}
        theme = {key: f"{value} " for key, value in theme.items()}
    return Labels(place, theme)


def _format_period(code: str, member: Member) -> str:
    return code.replace("-T", "-Q") if "trimestre_q" in member.mess else code


def thousands_text(column: str) -> pl.Expr:
    """1234 -> "1'234", 1234567 -> "1'234'567" (a messy member's Excel habit); small ones as is."""
    value = pl.col(column)

    def group(expr: pl.Expr) -> pl.Expr:
        return (expr % 1000).cast(pl.String).str.zfill(3)

    return (
        pl.when(value >= 1_000_000)
        .then(pl.format("{}'{}'{}", value // 1_000_000, group(value // 1000), group(value)))
        .when(value >= 1000)
        .then(pl.format("{}'{}", value // 1000, group(value)))
        .otherwise(value.cast(pl.String))
        .alias(column)
    )


def activity_frame(
    rows: pl.DataFrame, member: Member, labels: Labels, *, with_member_period: bool
) -> tuple[list[str], pl.DataFrame, list[str]]:
    """The activite sheet as the member writes it: header texts, the frame, its count columns."""
    counts = ["personnes", *COLUMN_SETS[member.columns]]
    keys = ["commune", "theme"] if "entetes" in member.mess else ["theme", "commune"]
    columns = (["membre", "periode"] if with_member_period else []) + keys + counts
    frame = (
        rows.sort("period_code", "theme", "lieu")
        .select(
            pl.col("member_code").alias("membre"),
            (
                pl.col("period_code").str.replace("-T", "-Q")
                if "trimestre_q" in member.mess
                else pl.col("period_code")
            ).alias("periode"),
            pl.col("theme").replace_strict(labels.theme).alias("theme"),
            pl.col("lieu").replace_strict(labels.place).alias("commune"),
            *counts,
        )
        .select(columns)
    )
    header = [MESSY_HEADERS[c] if "entetes" in member.mess else c for c in columns]
    return header, frame, counts


def activity_table(
    rows: pl.DataFrame, member: Member, labels: Labels, *, with_member_period: bool
) -> tuple[list[str], list[list]]:
    """Header and rows of the activite sheet, with the member's totals and number habits."""
    header, frame, counts = activity_frame(
        rows, member, labels, with_member_period=with_member_period
    )
    body = [list(row) for row in frame.iter_rows()]
    if "ofs" in member.mess:  # an OFS number typed in Excel is a number cell
        at = frame.columns.index("commune")
        for row in body:
            if row[at].isdigit():
                row[at] = int(row[at])
    if "totaux" in member.mess:
        body = _with_totals(body, frame.columns, counts)
    if "milliers" in member.mess:
        start = len(frame.columns) - len(counts)
        body = [
            row[:start] + [_number_text(v) for v in row[start:]] if row else row for row in body
        ]
    return header, body


def _number_text(value: int | None) -> str | int | None:
    if value is None or value < 1000:
        return value
    return f"{value:,}".replace(",", "'")


def _with_totals(body: list[list], columns: list[str], counts: list[str]) -> list[list]:
    """A blank row and a « Sous-total » after each theme, a « Total » at the end."""
    theme_at, place_at = columns.index("theme"), columns.index("commune")
    start = len(columns) - len(counts)
    result: list[list] = []
    block: list[list] = []

    def sums(rows: list[list]) -> list:
        return [sum(r[i] or 0 for r in rows) for i in range(start, len(columns))]

    def close_block() -> None:
        if block:
            subtotal = [None] * start + sums(block)
            subtotal[theme_at], subtotal[place_at] = block[0][theme_at], "Sous-total"
            result.extend([*block, subtotal, []])

    for row in body:
        if block and (row[theme_at] != block[0][theme_at]):
            close_block()
            block = []
        block.append(row)
    close_block()
    data_rows = [r for r in body]
    total = [None] * start + sums(data_rows)
    total[theme_at] = "Total"
    result.append(total)
    return result


def identification_rows(
    member: Member, period: str, today: dt.date, rng: np.random.Generator
) -> list[list]:
    sent = min(period_end(period) + dt.timedelta(days=int(rng.integers(8, 45))), today)
    member_text = member.name if "libelles" in member.mess else member.code
    label = (lambda c: MESSY_HEADERS.get(c, c)) if "entetes" in member.mess else (lambda c: c)
    return [
        ["Observatoire social de la CAPAS – transmission des données (démo)"],
        [],
        [label("membre"), member_text],
        [label("periode"), _format_period(period, member)],
        [label("contact"), "Secrétariat (coordonnées fictives)"],
        ["Date d'envoi" if "entetes" in member.mess else "date_envoi", sent],
    ]


def services_rows(
    member: Member, services: list[dict], labels: Labels
) -> tuple[list[str], list[list]]:
    messy = {**MESSY_HEADERS, "commune": "Commune"}
    header = [messy.get(c, c) if "entetes" in member.mess else c for c in SERVICE_COLUMNS]
    names = {value.strip(): key for key, value in labels.place.items()}
    rows = []
    for service in services:
        row = dict(service)
        row["theme"] = labels.theme[service["theme"]]
        ofs = names.get(service["commune"])
        row["commune"] = labels.place.get(ofs, service["commune"]) if ofs else service["commune"]
        rows.append([row[c] for c in SERVICE_COLUMNS])
    return header, rows


def observation_rows(
    member: Member, observations: list[dict], labels: Labels, place_by_ofs: dict[int, str]
) -> tuple[list[str], list[list]]:
    messy = {**MESSY_HEADERS, "commune": "Commune"}
    header = [messy.get(c, c) if "entetes" in member.mess else c for c in OBSERVATION_COLUMNS]
    rows = [
        [
            obs["date"],
            labels.theme[obs["theme"]],
            place_by_ofs.get(obs["commune"]) if obs["commune"] is not None else None,
            obs["niveau"],
            obs["texte"],
            "oui" if obs["public"] else "non",
        ]
        for obs in observations
    ]
    return header, rows


# ------------------------------------------------------------------ writers


@dataclass
class FileWriter:
    """Writes one member's files; everything random comes from the member's own stream."""

    member: Member
    context: DemoContext
    activity: pl.DataFrame
    out_dir: Path
    today: dt.date
    theme_labels: dict[str, str]

    def __post_init__(self) -> None:
        self.rng = self.context.rng(self.member, FILES_STREAM)
        self.served: str | None = None  # communes_desservies, computed at the first workbook
        self.labels = member_labels(self.member, self.context, self.theme_labels, self.rng)
        names = self.context.territory.communes.select("ofs_number", "name")
        self.seat_ofs = names.filter(pl.col("name") == self.member.seat)["ofs_number"][0]
        self.by_period = (
            {
                key[0]: frame
                for key, frame in self.activity.partition_by("period_code", as_dict=True).items()
            }
            if self.activity.height
            else {}
        )

    def write(self, planned: PlannedFile) -> Path:
        folder = self.out_dir / str(planned.year)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / planned.file_name
        rows = (
            pl.concat([self.by_period[p] for p in planned.periods if p in self.by_period])
            if any(p in self.by_period for p in planned.periods)
            else self.activity.clear()
        )
        if planned.kind == "csv":
            self.write_csv(path, rows)
        else:
            self.write_workbook(path, planned, rows)
        return path

    def write_csv(self, path: Path, rows: pl.DataFrame) -> None:
        messy = set(self.member.mess)
        separator = ";" if messy else ","
        if "totaux" in messy:
            header, body = activity_table(rows, self.member, self.labels, with_member_period=True)
            lines = [
                separator.join("" if v is None else str(v) for v in (row or [None] * len(header)))
                for row in body
            ]  # a blank row is what Excel writes: separators only
            text = "\n".join([separator.join(header), *lines]) + "\n"
        else:
            header, frame, counts = activity_frame(
                rows, self.member, self.labels, with_member_period=True
            )
            if "milliers" in messy:
                frame = frame.with_columns(thousands_text(column) for column in counts)
            frame.columns = header
            text = frame.write_csv(separator=separator)
        if "titre" in messy:
            text = f"Statistiques {self.member.name}\n\n" + text
        # Excel's two CSV flavours: « CSV UTF-8 » (with a BOM) and the Windows code page.
        if "espaces" in messy:
            path.write_bytes(text.encode("cp1252"))
        elif messy:
            path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        else:
            path.write_text(text, encoding="utf-8")

    def write_workbook(self, path: Path, planned: PlannedFile, rows: pl.DataFrame) -> None:
        period = planned.periods[0]
        member = self.member
        sheets: dict[str, tuple[list[str] | None, list[list]]] = {
            "identification": (None, identification_rows(member, period, self.today, self.rng)),
            "activite": activity_table(rows, member, self.labels, with_member_period=False),
        }
        if planned.full:
            if self.served is None:
                self.served = communes_served(member, self.context)
            services = member_services(member, self.context, planned.year, self.served)
            sheets["services"] = services_rows(member, services, self.labels)
        rate = self._observation_rate(planned)
        if rate > 0:
            observations = member_observations(
                member, self.context, period, self.today, self.seat_ofs, rate
            )
            if observations or planned.full:
                place_by_ofs = {int(k): v for k, v in self.labels.place.items() if k.isdigit()}
                sheets["observations"] = observation_rows(
                    member, observations, self.labels, place_by_ofs
                )
        if "entetes" in member.mess and planned.full:  # « real Excel »: see the module docstring
            _write_with_xlsxwriter(path, sheets, member)
        else:
            _write_fast(path, sheets, member)

    def _observation_rate(self, planned: PlannedFile) -> float:
        if self.member.file_format == "xlsx" or self.member.frequency == "annee":
            return OBSERVATIONS_PER_PERIOD[self.member.frequency]
        return YEAR_END_OBSERVATIONS if planned.full else 0.0


def _text_dates(rows: list[list]) -> list[list]:
    return [[f"{v:%d.%m.%Y}" if isinstance(v, dt.date) else v for v in row] for row in rows]


def _sheet_title(name: str, member: Member) -> str:
    """Members who rename headers also write the sheet's name with its accent."""
    return "Activité" if name == "activite" and "entetes" in member.mess else name


def _write_fast(
    path: Path, sheets: dict[str, tuple[list[str] | None, list[list]]], member: Member
) -> None:
    content, merges = {}, {}
    for name, (header, rows) in sheets.items():
        title: list[list] = []
        if header and "titre" in member.mess and name == "activite":
            title = [[f"Statistiques – {member.name}"], []]
            merges[_sheet_title(name, member)] = [f"A1:{column_letter(len(header) - 1)}1"]
        content[_sheet_title(name, member)] = _text_dates(
            title + ([header] if header else []) + rows
        )
    write_workbook(path, content, merges)


def _write_with_xlsxwriter(
    path: Path, sheets: dict[str, tuple[list[str] | None, list[list]]], member: Member
) -> None:
    """A workbook as Excel writes it: shared strings, date cells, bold headers, a merged title."""
    workbook = xlsxwriter.Workbook(
        path, {"in_memory": True, "strings_to_urls": False, "strings_to_formulas": False}
    )
    workbook.set_properties({"created": dt.datetime(2000, 1, 1)})  # same bytes on every run
    date_format = workbook.add_format({"num_format": "dd.mm.yyyy"})
    bold = workbook.add_format({"bold": True})
    title_format = workbook.add_format({"bold": True, "font_size": 14})
    for name, (header, rows) in sheets.items():
        sheet = workbook.add_worksheet(_sheet_title(name, member))
        first = 0
        if header and "titre" in member.mess and name == "activite":
            sheet.merge_range(
                0, 0, 0, len(header) - 1, f"Statistiques – {member.name}", title_format
            )
            first = 2
        if header:
            sheet.write_row(first, 0, header, bold)
            first += 1
        for r, row in enumerate(rows, start=first):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
                else:
                    sheet.write(r, c, value)
    workbook.close()


def theme_labels() -> dict[str, str]:
    themes = pl.read_csv(DATA_DIR / "themes.csv")
    return dict(zip(themes["code"], themes["label_fr"], strict=True))
