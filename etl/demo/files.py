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
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter

from etl.demo.activity import DemoContext
from etl.demo.directory import communes_served, member_services
from etl.demo.members import Member
from etl.demo.observations import member_observations
from etl.demo.sheets import (
    activity_frame,
    activity_table,
    identification_rows,
    member_labels,
    observation_rows,
    services_rows,
    thousands_text,
)
from etl.demo.xlsx import write_workbook
from etl.submission.columns import column_letter

FILES_STREAM = 4
OBSERVATIONS_PER_PERIOD = {"mois": 0.3, "trimestre": 0.8, "annee": 2.0}
YEAR_END_OBSERVATIONS = 1.0  # CSV members write observations only in their year-end workbook


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
