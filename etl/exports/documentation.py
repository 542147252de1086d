"""What an extraction says about itself: data dictionary, dataset description, release, filters in
French words, citation, README rows and the equivalent command line."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field

import polars as pl

from etl.exports.selection import (
    ALL,
    DEFAULT_VARIABLES,
    Options,
    Selection,
    check_selection,
)
from etl.paths import DATA_DIR
from etl.queries import Runner

DICTIONARY_PATH = DATA_DIR / "dictionary.csv"
DATASET_PATH = DATA_DIR / "dataset.toml"
TABLE = "activite"
# What no extraction holds (etl/disclosure/crossings.py): said in every README.
UNPUBLISHED_NOTE = (
    "Ne sont jamais publiés, pour protéger les petits nombres : une commune (ou les personnes "
    "domiciliées hors canton ou sans commune connue) par catégorie de membres, ni les trimestres "
    "d'une commune par thématique. Les catégories de membres et les trimestres par thématique "
    "existent pour le canton entier (niveau canton) ; pour les communes, tous les membres réunis, "
    "et les trimestres toutes thématiques réunies."
)


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
            "Les nombres de 1 à 4 sont vides avec <colonne>_supprime = vrai (« X » sur les pages), "
            "comme toute cellule masquée pour qu'aucune combinaison des chiffres publiés ne permette "
            "d'en retrouver un (une cellule masquée peut valoir 0, peu ou beaucoup) ; les taux ne "
            "sont jamais calculés sur un nombre masqué. Une ligne absente signifie qu'aucune "
            "activité n'a été déclarée.",
        ),
        ("Détail non publié", UNPUBLISHED_NOTE),
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
