"""`observatoire exporter`: the Données page's extractions from the command line.

Same filters, same module (etl/exports/), same public file: for the same selection the files are
the same as the page's downloads (only the extraction date in the README differs).
"""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path
from typing import Annotated

import typer

from etl import exports
from etl.cli import DbOption, app, console, os_reason, user_errors
from etl.errors import UserError
from etl.paths import database_path
from etl.text import normalise_key


def _commune_numbers(values: list[str], options: exports.Options) -> tuple[int, ...]:
    """OFS numbers from numbers or names (accents, case and hyphens free)."""
    by_key = {normalise_key(name): ofs for ofs, name in options.communes.iter_rows()}
    numbers = []
    for value in values:
        text = value.strip()
        if text.isdigit():
            numbers.append(int(text))
        elif normalise_key(text) in by_key:
            numbers.append(by_key[normalise_key(text)])
        else:
            raise UserError(
                f"Commune « {value} » inconnue : donnez son nom (p. ex. Carouge) ou son numéro "
                "OFS (6601–6645)."
            )
    return tuple(numbers)


@app.command()
@user_errors
def exporter(
    fmt: Annotated[
        str, typer.Option("--format", help="csv, xlsx, parquet ou zip (CSV + datapackage.json).")
    ] = "csv",
    sortie: Annotated[
        Path | None,
        typer.Option("--sortie", help="Fichier ou dossier de sortie (défaut : dossier courant)."),
    ] = None,
    debut: Annotated[
        int | None, typer.Option("--debut", help="Première année (défaut : la première).")
    ] = None,
    fin: Annotated[
        int | None, typer.Option("--fin", help="Dernière année (défaut : la dernière).")
    ] = None,
    niveau: Annotated[str, typer.Option("--niveau", help="commune ou canton.")] = "commune",
    periode: Annotated[str, typer.Option("--periode", help="annee ou trimestre.")] = "annee",
    theme: Annotated[
        list[str] | None,
        typer.Option("--theme", help="Code de thématique (répétable ; * = toutes réunies)."),
    ] = None,
    commune: Annotated[
        list[str] | None,
        typer.Option("--commune", help="Nom ou n° OFS (répétable ; défaut : les 45)."),
    ] = None,
    categorie: Annotated[
        list[str] | None,
        typer.Option(
            "--categorie",
            help="Catégorie de membres (répétable ; * = tous ; par catégorie : niveau canton).",
        ),
    ] = None,
    variable: Annotated[
        list[str] | None,
        typer.Option("--variable", help="Variable ou indicateur (répétable ; défaut : comptages)."),
    ] = None,
    base: DbOption = None,
) -> None:
    """Exporte un jeu de données filtré et documenté, comme la page Données (base publique)."""
    # Longer than 60 lines: typer declares each option in the signature (ten of them).
    if fmt not in exports.FORMATS:
        raise UserError(f"Format « {fmt} » inconnu : attendu {', '.join(exports.FORMATS)}.")
    with exports.public_runner(base or database_path()) as run:
        options = exports.load_options(run)
        if not options.years:
            raise UserError("La base ne contient encore aucune activité publiée à exporter.")
        selection = exports.Selection(
            year_from=debut if debut is not None else options.years[0],
            year_to=fin if fin is not None else options.years[-1],
            level=niveau,
            granularity=periode,
            themes=tuple(theme or ()),
            communes=_commune_numbers(commune or [], options),
            categories=tuple(categorie or (exports.ALL,)),
            variables=tuple(variable or exports.DEFAULT_VARIABLES),
        )
        frame = exports.extract(selection, run, options)
        meta = exports.metadata(selection, run, options)
    content = exports.render(frame, meta, fmt)
    target = sortie or Path.cwd()
    if target.is_dir() or not target.suffix:  # a folder, existing or to create
        target = target / exports.file_name(meta, fmt)
    elif target.suffix.lstrip(".") != fmt:
        raise UserError(f"Le fichier {target} ne finit pas par .{fmt} (format choisi : {fmt}).")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    except OSError as exc:  # a read-only folder, a full disk: one sentence, exit 1
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):  # a half-written file
            with contextlib.suppress(OSError):
                target.unlink(missing_ok=True)
        raise UserError(
            f"L'export n'a pas pu être écrit dans {target} ({os_reason(exc)}). Indiquez avec "
            "--sortie un dossier où vous pouvez écrire (et où il reste de la place)."
        ) from exc
    console.print(f"[green]{frame.height} ligne(s) exportée(s) :[/] {target}")
    console.print(f"Version de la base : {meta.release.version}")
    console.print(f"Citer : {exports.citation(meta)}")
