"""`observatoire template | valider | charger | retirer | membres`: members' submissions from the command line."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer
import xlsxwriter.exceptions
from rich.markup import escape

from etl import db, public
from etl.build import current_user, record_run, sha256_of_files
from etl.cli import (
    DbOption,
    ExitCode,
    app,
    console,
    err_console,
    os_reason,
    run_with_progress,
    say_error,
    user_errors,
)
from etl.errors import UserError
from etl.paths import database_path
from etl.publish import next_version
from etl.submission import members, remove, report
from etl.submission import template as template_module
from etl.submission.load import DEFAULT_MAX_FILE_MB, load_files, validate_files
from etl.submission.results import FAILED, LOADED, REJECTED, REPLACED, FileResult
from etl.text import printable
from etl.vocabulary import RUN_LOADED

FilesArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Fichiers des membres : classeurs .xlsx ou feuilles activité .csv (ou un dossier).",
        show_default=False,
    ),
]
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--rapport",
        help="Rapport HTML à écrire, ou dossier où l'écrire (défaut : rapport_<fichier>.html "
        "dans le dossier courant).",
    ),
]
MAX_SIZE_ENV = "OBSERVATOIRE_TAILLE_MAX_MO"
MaxSizeOption = Annotated[
    float | None,
    typer.Option(
        "--taille-max",
        help=f"Taille maximale d'un fichier, en Mo (défaut : {DEFAULT_MAX_FILE_MB}, ou "
        f"${MAX_SIZE_ENV} ; 0 : sans limite). Un fichier plus gros est refusé sans être lu.",
        show_default=False,
    ),
]
FullRebuildOption = Annotated[
    bool,
    typer.Option(
        "--complet",
        help="Recalcule agrégats et fichier public pour toutes les années (par défaut : seulement "
        "les années que les données chargées ou retirées touchent).",
    ),
]


def max_file_bytes(taille_max: float | None) -> int | None:
    """The size cap in bytes: the option, else $OBSERVATOIRE_TAILLE_MAX_MO, else 10 MB; 0: none."""
    if taille_max is None:
        written = os.environ.get(MAX_SIZE_ENV, "").strip()
        try:
            taille_max = float(written.replace(",", ".")) if written else DEFAULT_MAX_FILE_MB
        except ValueError:
            raise UserError(
                f"{MAX_SIZE_ENV}=« {written} » : indiquez une taille en Mo, par exemple 10 "
                "(0 : sans limite)."
            ) from None
    if taille_max < 0:
        raise UserError(f"--taille-max {taille_max:g} : indiquez une taille en Mo ≥ 0.")
    return None if taille_max == 0 else int(taille_max * 1024 * 1024)


@app.command()
@user_errors
def template(
    membre: Annotated[str, typer.Option("--membre", help="Code du membre (registre des membres).")],
    periode: Annotated[str, typer.Option("--periode", help="2025, 2025-T1…2025-T4 ou 2025-03.")],
    sortie: Annotated[
        Path | None, typer.Option("--sortie", "-o", help="Fichier .xlsx à écrire.")
    ] = None,
    base: DbOption = None,
) -> None:
    """Écrit le classeur Excel à remplir par un membre pour une période."""
    con = db.open_reader(base or database_path())
    try:
        data = template_module.template_data(con, membre, periode)
    finally:
        con.close()
    path = sortie or Path(template_module.default_template_name(data.member_code, data.period_code))
    if path.suffix.lower() != ".xlsx":
        raise UserError(
            f"Le modèle est un classeur Excel : donnez un nom en .xlsx (reçu : {path})."
        )
    try:
        template_module.write_template(path, data)
    except xlsxwriter.exceptions.FileCreateError as exc:  # wraps the OSError of the folder
        reason = os_reason(exc.args[0]) if exc.args and isinstance(exc.args[0], OSError) else ""
        raise UserError(
            f"Le modèle n'a pas pu être écrit dans {path}"
            + (f" ({reason})" if reason else "")
            + ". Indiquez avec --sortie un fichier dans un dossier où vous pouvez écrire."
        ) from exc
    console.print(
        f"[green]Modèle écrit :[/] {path} ({data.member_name}, période {data.period_code})"
    )


SUBMISSION_SUFFIXES = {".xlsx", ".xlsm", ".csv"}


def _expand(paths: list[Path]) -> list[Path]:
    """A folder stands for the submission files in it and below (Excel's ~$ lock files left out)."""
    expanded = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in SUBMISSION_SUFFIXES and not p.name.startswith("~$")
            )
            if not found:
                raise UserError(f"Le dossier {path} ne contient aucun fichier .xlsx ou .csv.")
            expanded += found
        else:
            expanded.append(path)
    return expanded


def report_target(rapport: Path | None, files: list[Path], action: str) -> Path:
    """Where the report will be written; refused before anything is done (`action`: what would
    not happen, « Rien n'a été chargé ») when it could not be written there."""
    names = [path.name for path in files]
    if rapport is None or rapport.is_dir():  # a folder: the usual name inside it
        target = report.default_report_path_for(names, rapport)
    else:
        target = rapport
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # write_html creates the missing folders inside this one
    if not folder.is_dir():
        reason = "un élément du chemin est un fichier, pas un dossier"
    elif not os.access(folder, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        reason = f"le dossier {folder} est en lecture seule"
    else:
        return target
    raise UserError(
        f"Le rapport ne pourrait pas être écrit dans {target} ({reason}). {action} : indiquez "
        "avec --rapport un fichier ou un dossier où vous pouvez écrire, puis relancez la commande."
    )


def _finish(results: list[FileResult], target: Path, title: str, *, loaded: bool) -> None:
    """Print the results, write the report; exit 1 if a file is refused, 3 if the report could
    not be written (the work above is done all the same: a load is not to be redone)."""
    report.print_results(console, results)
    try:
        path = report.write_html(results, target, title=title)
    except OSError as exc:
        done = (
            "Les fichiers marqués « chargé » ci-dessus sont bien chargés et publiés : ne les "
            "rechargez pas. "
            if loaded
            else "Les résultats affichés ci-dessus sont complets. "
        )
        say_error(
            f"Le rapport n'a pas pu être écrit dans {target} ({os_reason(exc)}). {done}Pour "
            "l'obtenir, relancez « observatoire charger --dry-run » sur les mêmes fichiers avec "
            "--rapport vers un dossier où vous pouvez écrire."
        )
        raise typer.Exit(ExitCode.OUTPUT_NOT_WRITTEN) from None
    console.print(f"Rapport : {escape(printable(str(path)))}")
    if any(result.status in (REJECTED, FAILED) for result in results):
        raise typer.Exit(ExitCode.NOT_DONE)


@app.command()
@user_errors
def valider(
    fichiers: FilesArgument,
    rapport: ReportOption = None,
    taille_max: MaxSizeOption = None,
    base: DbOption = None,
) -> None:
    """Vérifie des fichiers sans rien charger et écrit le rapport de validation."""
    path = base or database_path()
    files = _expand(fichiers)
    max_bytes = max_file_bytes(taille_max)
    target = report_target(rapport, files, "Rien n'a été vérifié")
    results = run_with_progress(
        "Validation", lambda _p: validate_files(files, path, max_bytes=max_bytes)
    )
    _finish(results, target, "Rapport de validation", loaded=False)


@app.command()
@user_errors
def charger(
    fichiers: FilesArgument,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Simule le chargement sans rien écrire.")
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Marque les lignes comme données de démonstration.")
    ] = False,
    rapport: ReportOption = None,
    taille_max: MaxSizeOption = None,
    complet: FullRebuildOption = False,
    base: DbOption = None,
) -> None:
    """Valide et charge des fichiers ; un fichier avec une erreur n'est pas chargé du tout."""
    path = base or database_path()
    files = _expand(fichiers)
    max_bytes = max_file_bytes(taille_max)
    target = report_target(rapport, files, "Rien n'a été chargé")
    results = run_with_progress(
        "Chargement" if not dry_run else "Simulation",
        lambda progress: load_files(
            files,
            path,
            dry_run=dry_run,
            progress=progress,
            is_demo=demo,
            max_bytes=max_bytes,
            full=complet,
        ),
    )
    loaded = not dry_run and any(result.status in (LOADED, REPLACED) for result in results)
    title = "Rapport de chargement" if not dry_run else "Rapport de simulation"
    _finish(results, target, title, loaded=loaded)


@app.command()
@user_errors
def membres(
    registre: Annotated[
        Path, typer.Option("--registre", help="Registre CSV des membres.")
    ] = members.REGISTRY_PATH,
    demo: Annotated[
        bool, typer.Option("--demo", help="Le registre décrit des membres de démonstration.")
    ] = False,
    base: DbOption = None,
) -> None:
    """Recharge le registre des membres (data/members.csv) dans la base."""
    path = base or database_path()
    if not path.exists():
        raise UserError(
            f"La base de données {path} n'existe pas. Créez-la avec « observatoire init »."
        )
    started = dt.datetime.now()
    with next_version(path) as con:
        count = members.register(con, registre, is_demo=demo)
        record_run(
            con,
            started_at=started,
            kind="membres",
            status=RUN_LOADED,
            file_name=registre.name,
            sha256=sha256_of_files([registre]),
            rows_accepted=count,
            message=f"{count} membre(s) inscrits ou mis à jour",
            username=current_user(),
        )
        db.refresh_derived(con)
        public.publish_public(con, path)
    console.print(f"[green]Registre chargé :[/] {count} membre(s) depuis {registre}")
    if count == 0:
        err_console.print("Le registre ne contient aucun membre (seulement la ligne d'en-tête).")


@app.command()
@user_errors
def retirer(
    membre: Annotated[str, typer.Argument(help="Code du membre, par exemple DEMO-ALIM-01.")],
    periodes: Annotated[
        list[str],
        typer.Argument(
            help="Périodes à retirer : 2024 (année), 2024-T1 (trimestre), 2024-03 (mois)."
        ),
    ],
    motif: Annotated[
        str,
        typer.Option(
            "--motif", help="Pourquoi ces données sont retirées (gardé dans l'historique)."
        ),
    ],
    oui: Annotated[bool, typer.Option("--oui", help="Ne pas demander de confirmation.")] = False,
    complet: FullRebuildOption = False,
    base: DbOption = None,
) -> None:
    """Retire des données chargées (membre × périodes) et republie la base."""
    path = base or database_path()
    if not path.exists():
        raise UserError(f"La base de données {path} n'existe pas.")
    slices = remove.preview_removal(path, membre, periodes)
    for loaded in slices:
        console.print(
            f"{loaded.member_code} × {loaded.period_code} : {loaded.summary()} "
            f"(fichier {escape(printable(loaded.file_name))}, "
            f"chargé le {loaded.loaded_at:%d.%m.%Y à %H:%M})"
        )
    if not oui:
        answer = typer.prompt("Retirer ces données ? Tapez « oui » pour confirmer", default="non")
        if answer.strip().lower() != "oui":
            console.print("Rien n'a été retiré.")
            raise typer.Exit(1)
    removed = remove.remove_slices(path, membre, periodes, reason=motif, full=complet)
    console.print(
        f"[green]Retiré et publié :[/] {len(removed)} tranche(s) de {removed[0].member_code}"
    )
