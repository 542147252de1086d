"""The workbook a member fills (DESIGN §4): instructions, identification, activite, services, observations.

Dropdown lists come from a hidden `listes` sheet (themes, communes, niveaux, oui/non); each column
title carries a note; each data sheet shows one example row, which the reader skips (its first cell
starts with "Exemple").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from etl.errors import UserError
from etl.submission.columns import (
    ACTIVITY,
    COMMUNE,
    COMMUNE_LIST,
    DATE,
    IDENTIFICATION,
    INTEGER,
    LEVELS,
    OBSERVATIONS,
    SERVICES,
    THEME,
    Sheet,
)
from etl.submission.lookups import PLACE_LABELS
from etl.submission.parsing import ambiguous_period_message, is_ambiguous_period, period_code_expr
from etl.submission.validate import MAX_TEXT_CHARS
from etl.text import normalise_key

FILLED_ROWS = 1000  # rows prepared with dropdowns and formats below the example
HEADER_ROW = 2  # 0-based: title, hint, then the column titles
SERVICE_TYPES = [
    "permanence",
    "hébergement",
    "distribution",
    "consultation",
    "accueil de jour",
    "atelier",
    "accompagnement",
    "orientation",
    "ligne téléphonique",
]


@dataclass(frozen=True)
class TemplateData:
    member_code: str
    member_name: str
    period_code: str
    theme_labels: list[str]  # French labels, in taxonomy order
    commune_names: list[str]  # the 45 communes, alphabetical, then hors canton, non renseignée


def template_data(con: duckdb.DuckDBPyConnection, member: str, period: str) -> TemplateData:
    """Read what the template needs and check the member and the period (French errors)."""
    found = con.execute(
        "select code, name from members where lower(code) = lower(?) or lower(name) = lower(?)",
        [member, member],
    ).fetchall()
    if not found:
        known = [
            code
            for (code,) in con.execute("select code from members order by code limit 8").fetchall()
        ]
        hint = (
            f" Codes inscrits : {', '.join(known)}…"
            if known
            else (
                " Le registre est vide : inscrivez le membre dans data/members.csv puis lancez "
                "« observatoire membres »."
            )
        )
        raise UserError(f"Membre « {member} » inconnu du registre.{hint}")
    code, name = found[0]
    text = pl.lit(period.strip(), pl.String)
    if pl.select(is_ambiguous_period(text)).item():  # 2025-2: February or the 2nd quarter?
        year, number = re.search(r"\d{4}", period)[0], re.search(r"(?<!\d)[1-4](?!\d)", period)[0]
        raise UserError(
            pl.select(ambiguous_period_message(text, pl.lit(year), pl.lit(number))).item()
        )
    written = pl.select(period_code_expr(text)).item()
    period_row = con.execute(
        "select code, start_date from periods where code = ?", [written]
    ).fetchall()
    if not period_row:
        raise UserError(f"Période « {period} » inconnue : écrivez 2025, 2025-T1 ou 2025-03.")
    themes = [
        label
        for (label,) in con.execute("select label_fr from themes order by sort_order").fetchall()
    ]
    communes = [n for (n,) in con.execute("select name from communes order by name").fetchall()]
    return TemplateData(
        code,
        name,
        period_row[0][0],
        themes,
        sorted(communes, key=normalise_key) + list(PLACE_LABELS.values()),
    )


class _Formats:
    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        add = workbook.add_format
        self.title = add({"bold": True, "font_size": 14, "font_color": "#1F3864"})
        self.hint = add({"italic": True, "font_color": "#595959", "text_wrap": False})
        self.header = add(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.header_required = add(
            {"bold": True, "bg_color": "#BDD7EE", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.example = add({"italic": True, "font_color": "#7F7F7F", "bg_color": "#F2F2F2"})
        self.example_number = add(
            {"italic": True, "font_color": "#7F7F7F", "bg_color": "#F2F2F2", "num_format": "#,##0"}
        )
        self.integer = add({"num_format": "#,##0"})
        self.date = add({"num_format": "dd.mm.yyyy"})
        self.text = add({"num_format": "@"})
        self.wrap = add({"text_wrap": True, "valign": "top"})
        self.label = add({"bold": True})
        self.bold_wrap = add({"bold": True, "text_wrap": True, "valign": "top"})


def write_template(path: Path, data: TemplateData) -> Path:
    """Write the workbook for one member and period."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    formats = _Formats(workbook)
    instructions = workbook.add_worksheet("instructions")
    identification = workbook.add_worksheet("identification")
    sheets = {
        sheet.name: workbook.add_worksheet(sheet.name)
        for sheet in (ACTIVITY, SERVICES, OBSERVATIONS)
    }
    lists = _write_lists(workbook.add_worksheet("listes"), data)
    _write_instructions(instructions, formats, data)
    _write_identification(identification, formats, data)
    _write_data_sheet(sheets["activite"], ACTIVITY, formats, data, lists, _activity_example(data))
    _write_data_sheet(sheets["services"], SERVICES, formats, data, lists, _service_example(data))
    _write_data_sheet(
        sheets["observations"], OBSERVATIONS, formats, data, lists, _observation_example(data)
    )
    workbook.get_worksheet_by_name("listes").hide()
    sheets["activite"].activate()
    workbook.set_properties(
        {
            "title": f"Observatoire social CAPAS — {data.member_code} {data.period_code}",
            "author": "CAPAS",
            "comments": "Modèle de soumission",
        }
    )
    workbook.close()
    return path


def _write_lists(sheet: Worksheet, data: TemplateData) -> dict[str, str]:
    """The dropdown sources; returns the range of each list."""
    columns = {
        "theme": data.theme_labels,
        "commune": data.commune_names,
        "niveau": list(LEVELS),
        "public": ["oui", "non"],
        "type": SERVICE_TYPES,
    }
    ranges = {}
    for index, (name, values) in enumerate(columns.items()):
        sheet.write(0, index, name)
        sheet.write_column(1, index, values)
        letter = chr(ord("A") + index)
        ranges[name] = f"=listes!${letter}$2:${letter}${len(values) + 1}"
    return ranges


def _write_instructions(sheet: Worksheet, formats: _Formats, data: TemplateData) -> None:
    # Longer than 60 lines: most of it is the instructions' text, one entry per line; the logic
    # (one table per sheet) is the loop at the end.
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 14)
    sheet.set_column(2, 2, 100)
    lines = [
        ("Observatoire social de la CAPAS — fichier de soumission", formats.title),
        (
            f"Membre : {data.member_name} ({data.member_code}) — période : {data.period_code}",
            formats.label,
        ),
        ("", None),
        (
            "1. Vérifiez la feuille « identification » (code du membre et période) et indiquez une "
            "personne de contact.",
            None,
        ),
        (
            "2. Feuille « activite » : une ligne par thème et par commune de domicile des personnes. "
            "Choisissez thème et commune dans les listes ; « hors canton » et « non renseignée » sont "
            "possibles.",
            None,
        ),
        (
            "3. Les nombres sont des entiers ≥ 0. Les colonnes femmes, hommes, mineurs, seniors_65 et "
            "nouvelles_personnes comptent des personnes déjà comptées dans « personnes » : chacune est "
            "au plus égale à « personnes ». Laissez vide ce que vous ne savez pas.",
            None,
        ),
        (
            "4. Feuille « services » : vos lieux et prestations (annuaire « qui fait quoi »). Feuille "
            "« observations » : ce que vous constatez sur le terrain (facultatif).",
            None,
        ),
        (
            "5. N'écrivez aucune donnée personnelle (nom, adresse électronique, téléphone, n° AVS, IBAN) "
            "dans les observations.",
            None,
        ),
        (
            "6. La ligne grise « Exemple » de chaque feuille est ignorée : vous pouvez la laisser ou la "
            "supprimer. Les lignes vides et les lignes « Total » sont ignorées aussi.",
            None,
        ),
        (
            "7. Renvoyez ce fichier au secrétariat. Si quelque chose ne va pas, vous recevrez un rapport "
            "qui indique la feuille, la ligne, la colonne et la correction à faire.",
            None,
        ),
        ("", None),
    ]
    row = 0
    for text, fmt in lines:
        sheet.write(row, 0, text, fmt)
        row += 1
    for spec in (IDENTIFICATION, ACTIVITY, SERVICES, OBSERVATIONS):
        row += 1
        sheet.write(row, 0, f"Feuille « {spec.name} »", formats.title)
        row += 1
        sheet.write_row(row, 0, ["colonne", "obligatoire", "à indiquer"], formats.header)
        row += 1
        for column in spec.columns:
            if spec is ACTIVITY and column.name in ("membre", "periode"):
                continue  # given once on the identification sheet
            sheet.write(row, 0, column.name, formats.label)
            sheet.write(row, 1, "oui" if column.required else "non")
            sheet.write(row, 2, column.help_fr, formats.wrap)
            row += 1
    row += 1
    sheet.write(row, 0, "Format CSV", formats.title)
    sheet.write(
        row + 1,
        0,
        "La feuille activite peut aussi être envoyée seule en CSV, avec deux "
        "colonnes de plus : membre et periode.",
    )


def _write_identification(sheet: Worksheet, formats: _Formats, data: TemplateData) -> None:
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 30)
    sheet.set_column(2, 2, 80)
    sheet.write(0, 0, f"Identification — {data.member_name}", formats.title)
    values = {"membre": data.member_code, "periode": data.period_code}
    for offset, column in enumerate(IDENTIFICATION.columns):
        row = 2 + offset
        sheet.write(row, 0, column.name, formats.label)
        if column.kind == DATE:
            sheet.write_blank(row, 1, None, formats.date)
            sheet.data_validation(
                row,
                1,
                row,
                1,
                {
                    "validate": "date",
                    "criteria": ">=",
                    "value": dt.date(2009, 1, 1),
                    "error_title": "Date",
                    "error_message": "Écrivez une date jj.mm.aaaa.",
                },
            )
        else:
            sheet.write_string(row, 1, values.get(column.name, ""), formats.text)
        sheet.write(row, 2, column.help_fr, formats.hint)


def _write_data_sheet(
    sheet: Worksheet,
    spec: Sheet,
    formats: _Formats,
    data: TemplateData,
    lists: dict[str, str],
    example: dict[str, object],
) -> None:
    columns = [
        c for c in spec.columns if not (spec is ACTIVITY and c.name in ("membre", "periode"))
    ]
    sheet.write(
        0,
        0,
        f"{spec.title_fr} — {data.member_name} ({data.member_code}) — période {data.period_code}",
        formats.title,
    )
    sheet.write(
        1,
        0,
        "Survolez un titre de colonne pour lire la consigne. Colonnes foncées : "
        "obligatoires. La ligne grise est un exemple, ignoré au chargement.",
        formats.hint,
    )
    first, last = HEADER_ROW + 2, HEADER_ROW + 1 + FILLED_ROWS
    for index, column in enumerate(columns):
        header_format = formats.header_required if column.required else formats.header
        sheet.write(HEADER_ROW, index, column.name, header_format)
        sheet.write_comment(HEADER_ROW, index, column.help_fr, {"x_scale": 2, "y_scale": 1.6})
        width = {
            "texte": 70,
            "communes_desservies": 30,
            "adresse": 28,
            "horaires": 24,
            "conditions_acces": 28,
            "nom": 28,
            "theme": 30,
            "commune": 22,
        }.get(column.name, 14)
        cell_format = {INTEGER: formats.integer, DATE: formats.date}.get(column.kind)
        if column.name == "texte":
            cell_format = formats.wrap
        sheet.set_column(index, index, width, cell_format)
        value = example.get(column.name)
        example_format = formats.example_number if isinstance(value, int) else formats.example
        if isinstance(value, dt.date):
            sheet.write_string(HEADER_ROW + 1, index, value.strftime("%d.%m.%Y"), formats.example)
        elif value is None:
            sheet.write_blank(HEADER_ROW + 1, index, None, formats.example)
        else:
            sheet.write(HEADER_ROW + 1, index, value, example_format)
        _validation(sheet, column.kind, column.name, index, first, last, lists)
    sheet.freeze_panes(HEADER_ROW + 1, 0)


def _validation(
    sheet: Worksheet, kind: str, name: str, index: int, first: int, last: int, lists: dict[str, str]
) -> None:
    # Longer than 60 lines: a table of Excel's data-validation settings, one branch per kind of
    # column, kept together so that each column's check and its message are read side by side.
    rule = None
    if kind == THEME:
        rule = {
            "validate": "list",
            "source": lists["theme"],
            "error_title": "Thème",
            "error_message": "Choisissez un thème dans la liste.",
        }
    elif kind == COMMUNE:
        rule = {
            "validate": "list",
            "source": lists["commune"],
            "error_type": "warning",
            "error_title": "Commune",
            "error_message": "Choisissez une commune dans la liste (ou hors canton, non "
            "renseignée). Un numéro OFS est aussi accepté.",
        }
    elif kind == INTEGER:
        rule = {
            "validate": "integer",
            "criteria": ">=",
            "value": 0,
            "error_title": "Nombre",
            "error_message": "Un nombre entier ≥ 0 est attendu.",
        }
    elif kind == DATE:
        rule = {
            "validate": "date",
            "criteria": ">=",
            "value": dt.date(2009, 1, 1),
            "error_title": "Date",
            "error_message": "Écrivez une date jj.mm.aaaa.",
        }
    elif name == "niveau":
        rule = {
            "validate": "list",
            "source": lists["niveau"],
            "error_title": "Niveau",
            "error_message": "information, vigilance ou alerte.",
        }
    elif name == "public":
        rule = {
            "validate": "list",
            "source": lists["public"],
            "error_title": "Public",
            "error_message": "oui ou non.",
        }
    elif name == "type":
        rule = {
            "validate": "list",
            "source": lists["type"],
            "error_type": "information",
            "error_title": "Type",
            "error_message": "Type hors liste : accepté tel quel.",
        }
    elif name == "texte":
        rule = {
            "validate": "length",
            "criteria": "<=",
            "value": MAX_TEXT_CHARS,
            "error_title": "Texte",
            "error_message": f"{MAX_TEXT_CHARS} caractères au plus.",
        }
    elif kind == COMMUNE_LIST:
        rule = {
            "validate": "any",
            "input_title": "Communes desservies",
            "input_message": "Séparées par des virgules, ou « tout le canton ».",
        }
    if rule:
        sheet.data_validation(first, index, last, index, rule)


def _example_theme(data: TemplateData) -> str:
    return f"Exemple : {data.theme_labels[0]}"


def _activity_example(data: TemplateData) -> dict[str, object]:
    return {
        "theme": _example_theme(data),
        "commune": "Carouge",
        "personnes": 120,
        "prestations": 1450,
        "nouvelles_personnes": 35,
        "femmes": 64,
        "hommes": 56,
        "mineurs": 30,
        "seniors_65": 12,
        "demandes_non_satisfaites": 8,
        "liste_attente": 0,
    }


def _service_example(data: TemplateData) -> dict[str, object]:
    return {
        "nom": "Exemple : épicerie solidaire",
        "theme": data.theme_labels[0],
        "type": "distribution",
        "commune": "Carouge",
        "communes_desservies": "Carouge, Lancy, Onex",
        "adresse": "Rue de l'Exemple 1, 1227 Carouge",
        "horaires": "mardi et jeudi 14h–18h",
        "contact": "022 000 00 00",
        "conditions_acces": "sur orientation d'un service social",
        "langues": "français, anglais",
        "capacite": 80,
    }


def _observation_example(data: TemplateData) -> dict[str, object]:
    return {
        "date": "Exemple",
        "theme": data.theme_labels[0],
        "commune": "Carouge",
        "niveau": "vigilance",
        "texte": "Hausse des familles avec enfants en bas âge à la distribution du jeudi.",
        "public": "oui",
    }


def default_template_name(member_code: str, period_code: str) -> str:
    return f"soumission_{member_code}_{period_code}.xlsx"
