"""Filtered, documented, citable extractions of the public data (Données page and command line).

One module serves both: the page passes the dashboard's cached `data.run`, the command line
`public_runner(db_path)`; both read the public file only (etl/public.py), so every export carries the
disclosure control of DESIGN §6. A selection (`Selection`) is checked against what the database holds
(`check_selection`), extracted into one Polars frame (`extract`) and written as CSV (etl/spreadsheet.py:
UTF-8 with BOM, the format of every CSV download),
Excel (a README sheet with the data dictionary, sources, licence, citation, filters, dates and
version), Parquet, or a ZIP holding the CSV, the dictionary and a Frictionless `datapackage.json`.
Text cells that a spreadsheet would run as a formula are neutralised in CSV and Excel.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import xlsxwriter

from etl import queries
from etl.errors import UserError
from etl.paths import DATA_DIR
from etl.public import open_public_reader, suppressed_flag
from etl.queries import Runner
from etl.release import read_current
from etl.spreadsheet import (  # noqa: F401 (one path for every download: pages import them from here)
    csv_text,
    neutral_text,
    neutralise_formulas,
    to_csv,
    to_xlsx,
)
from etl.vocabulary import ALL, CANTON, CUBE_MEASURES, CUBE_PERIOD_KINDS

DICTIONARY_PATH = DATA_DIR / "dictionary.csv"
DATASET_PATH = DATA_DIR / "dataset.toml"
TABLE = "activite"

LEVELS = ("commune", "canton")
GRANULARITIES = CUBE_PERIOD_KINDS
RATE = "taux_pour_1000"
POPULATION = "population"
DERIVED_VARIABLES = (POPULATION, RATE)
# The gap between need and supply (etl/analysis/gaps.py, computed at publish from the published
# counts): by commune and year only, for all members together.
GAP = "ecart_besoins"
GAP_COLUMNS = (
    "indice_besoins",
    "attendu",
    "rapport_obs_att",
    "rapport_ic_inf",
    "rapport_ic_sup",
    "limite_95_inf",
    "limite_95_sup",
    "limite_998_inf",
    "limite_998_sup",
    "signalement",
)
DEFAULT_VARIABLES = (*CUBE_MEASURES, *DERIVED_VARIABLES)
# Columns present whatever is chosen: they say what a row is.
KEY_COLUMNS = ("annee", "trimestre", "no_ofs", "territoire", "theme", "theme_libelle")
CATEGORY_COLUMN = "categorie_membres"
DEMO_COLUMN = "donnees_demo"


# --- what is asked --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The filters of one extraction; the same on the page (URL) and on the command line."""

    year_from: int
    year_to: int
    level: str = "commune"
    granularity: str = "annee"
    themes: tuple[str, ...] = ()  # theme codes, ALL = all themes together; empty = every theme
    communes: tuple[int, ...] = ()  # OFS numbers; empty = the 45 (commune level only)
    categories: tuple[str, ...] = (ALL,)  # member categories, ALL = every member
    variables: tuple[str, ...] = DEFAULT_VARIABLES  # counts, population, rate, needs indicators


@dataclass(frozen=True)
class Options:
    """What the public file holds, to check a selection and to fill the page's widgets."""

    years: tuple[int, ...]
    quarter_years: tuple[int, ...]
    themes: pl.DataFrame  # code, label_fr, label_en, sort_order
    communes: pl.DataFrame  # ofs_number, name
    categories: tuple[str, ...]
    indicators: pl.DataFrame  # code, label_fr, label_en, unit_fr, unit_en, source

    @property
    def theme_codes(self) -> tuple[str, ...]:
        return tuple(self.themes["code"].to_list())

    @property
    def indicator_codes(self) -> tuple[str, ...]:
        return tuple(self.indicators["code"].to_list())

    def variables(self, level: str) -> tuple[str, ...]:
        """Variables that can be chosen at `level` (needs indicators exist by commune only)."""
        context = (GAP, *self.indicator_codes) if level == "commune" else ()
        return (*DEFAULT_VARIABLES, *context)


def load_options(run: Runner) -> Options:
    years = run("export_years")
    return Options(
        years=tuple(years["year"].to_list()),
        quarter_years=tuple(years.filter("has_quarters")["year"].to_list()),
        themes=run("ref_themes"),
        communes=run("ref_communes"),
        categories=(ALL, *run("ref_member_categories")["category"].to_list()),
        indicators=run("export_indicator_definitions"),
    )


def _unknown(values, allowed) -> list[str]:
    return [str(value) for value in values if value not in allowed]


def check_selection(selection: Selection, options: Options) -> Selection:
    """The selection with its defaults filled in, or a UserError saying in French what is wrong."""
    if selection.level not in LEVELS:
        raise UserError(f"Niveau « {selection.level} » inconnu : attendu {' ou '.join(LEVELS)}.")
    if selection.granularity not in GRANULARITIES:
        raise UserError(
            f"Période « {selection.granularity} » inconnue : attendu {' ou '.join(GRANULARITIES)}."
        )
    if selection.year_from > selection.year_to:
        raise UserError(
            f"L'année de début ({selection.year_from}) est après l'année de fin "
            f"({selection.year_to})."
        )
    checks = [
        ("thématique", selection.themes, (ALL, *options.theme_codes)),
        ("commune (n° OFS)", selection.communes, tuple(options.communes["ofs_number"].to_list())),
        ("catégorie de membres", selection.categories, options.categories),
        ("variable", selection.variables, options.variables(selection.level)),
    ]
    for what, values, allowed in checks:
        unknown = _unknown(values, allowed)
        if unknown:
            hint = ", ".join(str(a) for a in allowed)
            raise UserError(f"{what.capitalize()} inconnue : {', '.join(unknown)}. Choix : {hint}.")
    if not selection.categories:
        raise UserError("Choisissez au moins une catégorie de membres (« * » = tous les membres).")
    if not selection.variables:
        raise UserError("Choisissez au moins une variable.")
    if GAP in selection.variables and selection.granularity != "annee":
        raise UserError(
            "L'écart besoins / offre (ecart_besoins) est calculé par année : choisissez la période "
            "« annee »."
        )
    return replace(
        selection,
        themes=selection.themes or options.theme_codes,
        communes=selection.communes if selection.level == "commune" else (),
    )


# --- extraction -------------------------------------------------------------------------------------


def _place_codes(selection: Selection, options: Options) -> list[str]:
    if selection.level == "canton":
        return [CANTON]
    communes = selection.communes or tuple(options.communes["ofs_number"].to_list())
    return [str(ofs) for ofs in communes]


def output_columns(selection: Selection, context: list[str]) -> list[str]:
    """The columns of an extraction, in order: keys, chosen variables with their flags, demo flag."""
    columns = [c for c in KEY_COLUMNS if c != "trimestre" or selection.granularity == "trimestre"]
    columns.append(CATEGORY_COLUMN)
    for variable in selection.variables:
        if variable in CUBE_MEASURES:
            columns += [variable, suppressed_flag(variable)]
        elif variable == POPULATION:
            columns += [POPULATION, "population_statut"]
        elif variable == RATE:
            columns += [RATE, suppressed_flag(RATE)]
        elif variable == GAP:
            columns += list(GAP_COLUMNS)
    for code in context:
        columns += [code, f"{code}_annee"]
    return [*columns, DEMO_COLUMN]


def _context_indicators(
    frame: pl.DataFrame, codes: list[str], selection: Selection, run: Runner
) -> pl.DataFrame:
    """Join each chosen needs indicator: its latest value up to the row's year, and that year."""
    values = run(
        "export_context_indicators",
        codes=codes,
        ofs=sorted({int(v) for v in frame["no_ofs"].drop_nulls()}) or [0],
        year_from=selection.year_from,
        year_to=selection.year_to,
    )
    wide = values.pivot(on="indicator_code", index=["ofs_number", "year"], values="value").join(
        values.pivot(on="indicator_code", index=["ofs_number", "year"], values="value_year").rename(
            lambda c: c if c in ("ofs_number", "year") else f"{c}_annee"
        ),
        on=["ofs_number", "year"],
        how="left",
    )
    for code in codes:  # a code with no value at all pivots to no column
        if code not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(code))
        if f"{code}_annee" not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Int32).alias(f"{code}_annee"))
    wide = wide.with_columns(
        *[pl.col(c).cast(pl.Float64) for c in codes],
        *[pl.col(f"{c}_annee").cast(pl.Int32) for c in codes],
        pl.col("ofs_number").cast(frame.schema["no_ofs"]),
        pl.col("year").cast(frame.schema["annee"]),
    )
    return frame.join(
        wide.rename({"ofs_number": "no_ofs", "year": "annee"}),
        on=["no_ofs", "annee"],
        how="left",
        maintain_order="left",
    )


def _gaps(frame: pl.DataFrame, selection: Selection, run: Runner) -> pl.DataFrame:
    """Join the published gap of each commune × theme × year (rows of all members only)."""
    gaps = run(
        "export_gaps",
        year_from=selection.year_from,
        year_to=selection.year_to,
        themes=list(selection.themes),
        ofs=sorted({int(v) for v in frame["no_ofs"].drop_nulls()}) or [0],
    ).rename({"year": "annee", "ofs_number": "no_ofs"})
    gaps = gaps.with_columns(
        pl.col("annee").cast(frame.schema["annee"]),
        pl.col("no_ofs").cast(frame.schema["no_ofs"]),
        pl.lit(ALL).alias(CATEGORY_COLUMN),
    )
    return frame.join(
        gaps, on=["annee", "no_ofs", "theme", CATEGORY_COLUMN], how="left", maintain_order="left"
    )


def extract(selection: Selection, run: Runner, options: Options | None = None) -> pl.DataFrame:
    """The rows and columns of one extraction (checked selection), as published."""
    options = options or load_options(run)
    selection = check_selection(selection, options)
    frame = run(
        "export_activity",
        granularity=selection.granularity,
        year_from=selection.year_from,
        year_to=selection.year_to,
        themes=list(selection.themes),
        lieux=_place_codes(selection, options),
        categories=list(selection.categories),
    )
    context = [v for v in selection.variables if v in options.indicator_codes]
    if context:
        frame = _context_indicators(frame, context, selection, run)
    if GAP in selection.variables:
        frame = _gaps(frame, selection, run)
    return frame.select(output_columns(selection, context))


# --- documentation: dictionary, dataset, release, citation ---------------------------------------------


def dictionary(columns: list[str] | None = None) -> pl.DataFrame:
    """data/dictionary.csv, restricted to `columns` in their order (all rows when None)."""
    full = pl.read_csv(DICTIONARY_PATH, infer_schema=False).filter(pl.col("table") == TABLE)
    if columns is None:
        return full
    order = pl.DataFrame({"colonne": columns}).with_row_index("position")
    return full.join(order, on="colonne", how="inner").sort("position").drop("position")


def dataset() -> dict:
    with DATASET_PATH.open("rb") as handle:
        return tomllib.load(handle)


@dataclass(frozen=True)
class Release:
    version: str
    published_at: dt.datetime


def release(run: Runner) -> Release:
    row = run("export_release").row(0, named=True)
    return Release(version=row["version"], published_at=row["published_at"])


def describe_selection(selection: Selection, options: Options) -> list[tuple[str, str]]:
    """The filters used, in French words, for the README and the datapackage."""
    theme_labels = dict(zip(options.themes["code"], options.themes["label_fr"], strict=True))
    theme_labels[ALL] = "toutes les thématiques (total)"
    commune_names = dict(zip(options.communes["ofs_number"], options.communes["name"], strict=True))
    communes = (
        ", ".join(commune_names[c] for c in selection.communes)
        if selection.communes
        else ("les 45 communes" if selection.level == "commune" else "—")
    )
    categories = ", ".join("tous les membres" if c == ALL else c for c in selection.categories)
    return [
        ("Niveau", "commune" if selection.level == "commune" else "canton (45 communes)"),
        ("Période", "année" if selection.granularity == "annee" else "trimestre"),
        ("Années", f"{selection.year_from}–{selection.year_to}"),
        ("Thématiques", ", ".join(theme_labels.get(t, t) for t in selection.themes)),
        ("Communes", communes),
        ("Catégories de membres", categories),
        ("Variables", ", ".join(selection.variables)),
    ]


@dataclass(frozen=True)
class Metadata:
    """Everything an export says about itself besides its rows."""

    selection: Selection
    filters: list[tuple[str, str]]
    release: Release
    extracted_at: dt.datetime
    url: str = ""
    dataset: dict = field(default_factory=dataset)


def metadata(
    selection: Selection,
    run: Runner,
    options: Options,
    *,
    extracted_at: dt.datetime | None = None,
    url: str = "",
) -> Metadata:
    selection = check_selection(selection, options)
    return Metadata(
        selection=selection,
        filters=describe_selection(selection, options),
        release=release(run),
        extracted_at=(extracted_at or dt.datetime.now()).replace(microsecond=0),
        url=url,
    )


def citation(meta: Metadata, lang: str = "fr") -> str:
    """« Citer ce jeu de données »: producer, title, database version and date, extraction date."""
    date = meta.release.published_at
    extracted = meta.extracted_at
    template = (
        meta.dataset[f"citation_{lang}"] if lang in ("fr", "en") else meta.dataset["citation_fr"]
    )
    text = template.format(
        version=meta.release.version,
        date=f"{date:%d.%m.%Y}" if lang == "fr" else f"{date:%Y-%m-%d}",
        extracted=f"{extracted:%d.%m.%Y}" if lang == "fr" else f"{extracted:%Y-%m-%d}",
        url=meta.url,
    )
    return text.strip()


def readme_rows(meta: Metadata, rows: int) -> list[tuple[str, str]]:
    """The README of an export: what it is, where it comes from, how to cite it, what was asked."""
    info = meta.dataset
    sources = "; ".join(
        s["title"] + (f" ({s['path']})" if s["path"] else "") for s in info["sources"]
    )
    return [
        ("Titre", info["title_fr"]),
        ("Description", " ".join(info["description_fr"].split())),
        ("Producteur", info["producer"]),
        ("Citation", citation(meta, "fr")),
        ("Licence", f"{info['licence_title']} ({info['licence_name']}) — {info['licence_url']}"),
        ("Sources", sources),
        ("Version de la base", meta.release.version),
        ("Date de publication de la base", f"{meta.release.published_at:%d.%m.%Y %H:%M}"),
        ("Date d'extraction", f"{meta.extracted_at:%d.%m.%Y %H:%M}"),
        *[(f"Filtre : {name}", value) for name, value in meta.filters],
        ("Lignes", str(rows)),
        (
            "Contrôle de divulgation",
            "Les nombres de 1 à 4 sont vides avec <colonne>_supprime = vrai (« < 5 ») ; une seconde "
            "cellule est supprimée lorsqu'un total permettrait de les retrouver ; les taux ne sont "
            "jamais calculés sur un nombre supprimé. Une ligne absente signifie qu'aucune activité "
            "n'a été déclarée.",
        ),
    ]


def cli_command(selection: Selection) -> str:
    """The `observatoire exporter` command that gives the same extraction."""
    parts = [
        "observatoire exporter",
        f"--debut {selection.year_from}",
        f"--fin {selection.year_to}",
    ]
    if selection.level != "commune":
        parts.append(f"--niveau {selection.level}")
    if selection.granularity != "annee":
        parts.append(f"--periode {selection.granularity}")
    parts += [f"--theme '{theme}'" for theme in selection.themes]
    parts += [f"--commune {ofs}" for ofs in selection.communes]
    if tuple(selection.categories) != (ALL,):
        parts += [f"--categorie '{category}'" for category in selection.categories]
    if tuple(selection.variables) != DEFAULT_VARIABLES:
        parts += [f"--variable {variable}" for variable in selection.variables]
    return " ".join(parts)


# --- formats ------------------------------------------------------------------------------------------


def to_parquet(frame: pl.DataFrame, meta: Metadata) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(
        buffer,
        metadata={
            "titre": meta.dataset["title_fr"],
            "version": meta.release.version,
            "citation": citation(meta, "fr"),
            "licence": meta.dataset["licence_name"],
            "extraction": meta.extracted_at.isoformat(),
            "filtres": json.dumps(dict(meta.filters), ensure_ascii=False),
        },
    )
    return buffer.getvalue()


def _write_readme_sheet(workbook, meta: Metadata, frame: pl.DataFrame) -> None:
    sheet = workbook.add_worksheet("README")
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet.set_column(0, 0, 32)
    sheet.set_column(1, 1, 100)
    sheet.set_column(2, 6, 28)
    row = 0
    for name, value in readme_rows(meta, frame.height):
        sheet.write_string(row, 0, name, bold)
        sheet.write_string(row, 1, neutral_text(value), wrap)
        row += 1
    row += 1
    sheet.write_string(row, 0, "Dictionnaire des données", bold)
    row += 1
    entries = dictionary(frame.columns)
    for col, name in enumerate(entries.columns[1:]):
        sheet.write_string(row, col, name, bold)
    for values in entries.drop("table").iter_rows():
        row += 1
        for col, value in enumerate(values):
            sheet.write_string(row, col, neutral_text(value or ""), wrap)


def to_excel(frame: pl.DataFrame, meta: Metadata) -> bytes:
    """A workbook: README (metadata and data dictionary) then « donnees » (the rows)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            # Belt and braces with neutralise_formulas: text is never turned into a formula or link.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    workbook.set_properties(
        {"title": meta.dataset["title_fr"], "author": meta.dataset["producer"]}
        | {"created": meta.extracted_at}
    )
    _write_readme_sheet(workbook, meta, frame)
    neutralise_formulas(frame).write_excel(
        workbook=workbook,
        worksheet="donnees",
        autofilter=True,
        freeze_panes=(1, 0),
        float_precision=2,
        table_style=None,
    )
    workbook.close()
    return buffer.getvalue()


FRICTIONLESS_TYPES = {"integer", "number", "string", "boolean"}


def datapackage(frame: pl.DataFrame, meta: Metadata, csv_name: str) -> dict:
    """A Frictionless (Data Package v1, tabular) descriptor of the CSV, with the dictionary."""
    info = meta.dataset
    fields = []
    for entry in dictionary(frame.columns).iter_rows(named=True):
        described = {
            "name": entry["colonne"],
            "type": entry["type"],
            "description": entry["definition_fr"],
            "description_en": entry["definition_en"],
        }
        if entry["unite_fr"]:
            described["unit"] = entry["unite_fr"]
        if entry["source"]:
            described["source"] = entry["source"]
        fields.append(described)
    return {
        "profile": "tabular-data-package",
        "name": info["name"],
        "title": info["title_fr"],
        "description": " ".join(info["description_fr"].split()),
        "version": meta.release.version,
        "created": meta.extracted_at.isoformat(),
        "homepage": info["homepage"],
        "keywords": info["keywords"],
        "licenses": [
            {
                "name": info["licence_name"],
                "path": info["licence_url"],
                "title": info["licence_title"],
            }
        ],
        "contributors": [{"title": info["producer"], "role": "publisher"}],
        "sources": [{k: v for k, v in s.items() if v} for s in info["sources"]],
        "citation": citation(meta, "fr"),
        "filters": dict(meta.filters),
        "resources": [
            {
                "name": TABLE,
                "path": csv_name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "doubleQuote": True, "header": True},
                "schema": {"fields": fields, "missingValues": [""]},
            }
        ],
    }


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes, when: dt.datetime) -> None:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def to_zip(frame: pl.DataFrame, meta: Metadata) -> bytes:
    """activite.csv and dictionnaire.csv (the CSV of every download: UTF-8 with BOM), datapackage.json
    and LISEZMOI.txt in one archive."""
    csv_name = f"{TABLE}.csv"
    readme = "\n".join(f"{name} : {value}" for name, value in readme_rows(meta, frame.height))
    dictionary_csv = to_csv(dictionary(frame.columns).drop("table"))
    package = json.dumps(datapackage(frame, meta, csv_name), ensure_ascii=False, indent=2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _zip_entry(archive, csv_name, to_csv(frame), meta.extracted_at)
        _zip_entry(archive, "datapackage.json", package.encode("utf-8"), meta.extracted_at)
        _zip_entry(archive, "dictionnaire.csv", dictionary_csv, meta.extracted_at)
        _zip_entry(archive, "LISEZMOI.txt", readme.encode("utf-8"), meta.extracted_at)
    return buffer.getvalue()


FORMATS = ("csv", "xlsx", "parquet", "zip")
MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "zip": "application/zip",
}


def render(frame: pl.DataFrame, meta: Metadata, fmt: str) -> bytes:
    """The bytes of one export format."""
    if fmt == "csv":
        return to_csv(frame)
    writers = {"xlsx": to_excel, "parquet": to_parquet, "zip": to_zip}
    if fmt not in writers:
        raise UserError(f"Format « {fmt} » inconnu : attendu {', '.join(FORMATS)}.")
    return writers[fmt](frame, meta)


def file_name(meta: Metadata, fmt: str) -> str:
    """observatoire_capas_commune_annee_2021-2024_v2026.11.28-1a2b3c4d.csv"""
    s = meta.selection
    return (
        f"observatoire_capas_{s.level}_{s.granularity}_{s.year_from}-{s.year_to}"
        f"_v{meta.release.version}.{fmt}"
    )


# --- reading the public file outside Streamlit (command line, tests) -----------------------------------


@contextlib.contextmanager
def public_runner(db_path: Path) -> Iterator[Runner]:
    """A `run(query_name, **params)` on the public file of the current release of `db_path`
    (never the raw file): the query runner of etl/queries.py, with its allow-list of names and its
    check of parameters, as the dashboard's `data.run`."""
    con = read_current(db_path, lambda live: open_public_reader(live.public))
    try:
        yield queries.runner(con)
    finally:
        con.close()
