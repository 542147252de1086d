"""The files of an extraction: CSV (etl/spreadsheet.py: UTF-8 with BOM, the format of every CSV
download), Excel with a README sheet, Parquet with metadata, and a ZIP holding the CSV, the dictionary,
a Frictionless `datapackage.json` and a LISEZMOI. Text cells a spreadsheet would run as a formula are
neutralised in CSV and Excel."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import polars as pl

from etl.errors import UserError
from etl.exports.documentation import (
    TABLE,
    UNPUBLISHED_NOTE,
    Metadata,
    citation,
    dictionary,
    readme_rows,
)
from etl.spreadsheet import neutral_text, neutralise_formulas, safe_workbook, to_csv

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
            "detail_non_publie": UNPUBLISHED_NOTE,
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
    workbook = safe_workbook(buffer)
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
        "unpublished_detail": UNPUBLISHED_NOTE,
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
