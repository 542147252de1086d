"""How a demo member writes its sheets: place and theme labels (aliases chosen once per member),
messy headers, thousands separators and « Total » rows, and the rows of each sheet (DESIGN §4).

etl/demo/files.py decides which files a member sends and writes them with these rows.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.demo.activity import DemoContext, period_end
from etl.demo.members import Member
from etl.demo.parameters import COLUMN_SETS
from etl.paths import DATA_DIR
from etl.submission.columns import SERVICES
from etl.vocabulary import OUTSIDE_CANTON, PLACE_NOT_GIVEN

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
# The services sheet of the data contract, in its order (etl/submission/columns.py).
SERVICE_COLUMNS = tuple(SERVICES.names)
OBSERVATION_COLUMNS = ("date", "theme", "commune", "niveau", "texte", "public")


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


def theme_labels() -> dict[str, str]:
    themes = pl.read_csv(DATA_DIR / "themes.csv")
    return dict(zip(themes["code"], themes["label_fr"], strict=True))
