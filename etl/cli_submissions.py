"""`observatoire template | valider | charger | retirer | membres`: members' submissions from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from etl import db, public
from etl.build import current_user, record_run, sha256_of_files
from etl.cli import DbOption, app, console, err_console, run_with_progress, user_errors
from etl.errors import UserError
from etl.paths import database_path
from etl.publish import next_version
from etl.submission import members, remove, report
from etl.submission import template as template_module
from etl.submission.load import load_files, validate_files
from etl.submission.results import FAILED, REJECTED, FileResult

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
        help="Rapport HTML à écrire (défaut : rapport_<fichier>.html dans le dossier courant).",
    ),
]


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
    template_module.write_template(path, data)
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


def _finish(results: list[FileResult], rapport: Path | None, title: str) -> None:
    report.print_results(console, results)
    path = report.write_html(results, rapport or report.default_report_path(results), title=title)
    console.print(f"Rapport : {path}")
    if any(result.status in (REJECTED, FAILED) for result in results):
        raise typer.Exit(1)


@app.command()
@user_errors
def valider(fichiers: FilesArgument, rapport: ReportOption = None, base: DbOption = None) -> None:
    """Vérifie des fichiers sans rien charger et écrit le rapport de validation."""
    path = base or database_path()
    files = _expand(fichiers)
    results = run_with_progress("Validation", lambda _p: validate_files(files, path))
    _finish(results, rapport, "Rapport de validation")


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
    base: DbOption = None,
) -> None:
    """Valide et charge des fichiers ; un fichier avec une erreur n'est pas chargé du tout."""
    path = base or database_path()
    results = run_with_progress(
        "Chargement" if not dry_run else "Simulation",
        lambda progress: load_files(
            _expand(fichiers), path, dry_run=dry_run, progress=progress, is_demo=demo
        ),
    )
    _finish(results, rapport, "Rapport de chargement" if not dry_run else "Rapport de simulation")


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
            status="charge",
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
            f"(fichier {loaded.file_name}, chargé le {loaded.loaded_at:%d.%m.%Y à %H:%M})"
        )
    if not oui:
        answer = typer.prompt("Retirer ces données ? Tapez « oui » pour confirmer", default="non")
        if answer.strip().lower() != "oui":
            console.print("Rien n'a été retiré.")
            raise typer.Exit(1)
    removed = remove.remove_slices(path, membre, periodes, reason=motif)
    console.print(
        f"[green]Retiré et publié :[/] {len(removed)} tranche(s) de {removed[0].member_code}"
    )
