"""The `observatoire` command line (French): create, fill and inspect the observatory's database."""

from __future__ import annotations

import enum
import errno
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from etl import build, cli_french, db, release
from etl.errors import UserError
from etl.paths import database_path
from etl.text import printable

cli_french.install()

app = typer.Typer(
    help="Observatoire social de la CAPAS : base de données, soumissions des membres, exports.",
    no_args_is_help=True,
    subcommand_metavar="COMMANDE [ARGUMENTS]...",
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--base",
        help="Fichier de base de données (défaut : $OBSERVATOIRE_DB ou data/observatoire.duckdb).",
    ),
]


class ExitCode(enum.IntEnum):
    """What a command's exit status tells a script (docs/ADMIN.md, « Codes de sortie »)."""

    OK = 0  # everything done
    NOT_DONE = 1  # a file refused, or the command could not run: nothing written for them
    USAGE = 2  # the command line itself is wrong (unknown option, missing argument): click's
    OUTPUT_NOT_WRITTEN = 3  # the work is done (loaded, validated), its report/export is not written


OS_REASONS = {
    errno.ENOSPC: "le disque est plein",
    errno.EDQUOT: "le quota de disque est atteint",
    errno.EACCES: "droits insuffisants (dossier ou fichier en lecture seule ?)",
    errno.EPERM: "opération non permise",
    errno.EROFS: "le disque est en lecture seule",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.ENOTDIR: "un élément du chemin est un fichier, pas un dossier",
    errno.ENOENT: "dossier ou fichier introuvable",
    errno.ENAMETOOLONG: "nom trop long",
    errno.EIO: "erreur de lecture ou d'écriture du disque",
}


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in French (the system's own text is English)."""
    return OS_REASONS.get(exc.errno, f"erreur du système n° {exc.errno}")


def os_error_sentence(exc: OSError) -> str:
    where = f" « {printable(str(exc.filename))} »" if exc.filename else ""
    return f"Impossible de lire ou d'écrire{where} : {os_reason(exc)}. Rien n'a été fait."


def say_error(message: str) -> None:
    """One French sentence on stderr; what came from a file or a path is printed harmlessly."""
    err_console.print(f"[bold red]Erreur :[/] {escape(printable(message))}")


def user_errors(command: Callable) -> Callable:
    """Show a UserError, a file that cannot be written or a database that cannot be read as one
    French sentence, and exit 1 (NOT_DONE), never as a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            say_error(str(exc))
        except OSError as exc:  # a read-only folder, a full disk, a folder named as a file
            say_error(os_error_sentence(exc))
        except duckdb.Error as exc:
            say_error(
                "La base de données n'a pas pu être lue ou écrite (fichier endommagé, disque plein "
                f"ou base ouverte par un autre programme : {type(exc).__name__}). Rien n'a été "
                "modifié."
            )
        raise typer.Exit(ExitCode.NOT_DONE)

    return wrapper


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def run_with_progress(title: str, work: Callable[[Callable[[str], None]], dict]) -> dict:
    with progress_bar() as progress:
        task = progress.add_task(title)
        return work(
            lambda step: progress.update(task, description=f"{title} : {escape(printable(step))}")
        )


@app.command()
@user_errors
def init(
    base: DbOption = None,
    remplacer: Annotated[
        bool,
        typer.Option(
            "--remplacer", help="Recrée la base même si elle existe (soumissions perdues)."
        ),
    ] = False,
) -> None:
    """Crée la base de données avec les données de référence."""
    path = base or database_path()
    if path.exists() and not remplacer:
        # A new base would drop every submission loaded so far: make that a deliberate choice.
        raise UserError(
            f"La base {path} existe déjà. Pour recharger seulement les données de référence, "
            "utilisez « observatoire reference » ; pour la recréer vide (les soumissions chargées "
            "seront perdues), ajoutez --remplacer."
        )
    counts = run_with_progress("Création de la base", lambda p: build.init_database(path, p))
    console.print(f"[green]Base créée :[/] {path}")
    _print_counts(counts)


@app.command()
@user_errors
def reference(base: DbOption = None) -> None:
    """Recharge les données de référence (communes, population, indicateurs, limites)."""
    path = base or database_path()
    counts = run_with_progress("Données de référence", lambda p: build.reload_reference(path, p))
    console.print(f"[green]Données de référence rechargées dans[/] {path}")
    _print_counts(counts)


@app.command()
@user_errors
def info(base: DbOption = None) -> None:
    """Affiche ce que contient la base : périodes, membres, nombres de lignes, derniers chargements."""
    path = base or database_path()
    live = release.current(path)  # the raw file of one release, resolved once
    con = db.attach_read_only(live.raw, path)
    try:
        summary = db.query(
            con,
            """
            select (select count(*) from communes) as communes,
                   (select count(*) from members) as membres,
                   (select count(*) from activity) as activite,
                   (select count(*) from services) as services,
                   (select count(*) from observations) as observations,
                   (select min(year) || '–' || max(year) from activity) as annees,
                   (select count(distinct period_code) from activity) as periodes,
                   (select value from schema_info where key = 'schema_version') as schema""",
        )
        runs = db.query(
            con,
            """
            select run_id, strftime(started_at, '%Y-%m-%d %H:%M') as quand, username, kind,
                   coalesce(file_name, '') as fichier, rows_accepted, rows_rejected, status
            from load_runs order by run_id desc limit 10""",
        )
    finally:
        con.close()
    row = summary.row(0, named=True)
    table = Table(title=f"Base {path}", show_header=False)
    labels = {
        "communes": "Communes",
        "membres": "Membres",
        "activite": "Lignes d'activité",
        "services": "Services",
        "observations": "Observations",
        "annees": "Années couvertes",
        "periodes": "Périodes déclarées",
        "schema": "Version du schéma",
        "publication": "Publication",
    }
    row["publication"] = (
        live.id or "fichier unique (devient une publication au prochain chargement)"
    )
    for key, label in labels.items():
        value = row[key]
        table.add_row(label, _fr_number(value) if isinstance(value, int) else str(value or "—"))
    console.print(table)
    history = Table(title="Derniers chargements")
    for column in ["n°", "quand", "qui", "type", "fichier", "acceptées", "rejetées", "statut"]:
        history.add_column(column)
    for run in runs.iter_rows():  # file names come from members: printed harmlessly
        history.add_row(
            *[_fr_number(v) if isinstance(v, int) else escape(printable(str(v))) for v in run]
        )
    console.print(history)


def _fr_number(value: int) -> str:
    """12345 -> '12 345' (Swiss French thousands separator, narrow no-break space)."""
    return f"{value:,}".replace(",", "\u202f")


def _print_counts(counts: dict[str, int]) -> None:
    table = Table(show_header=True)
    table.add_column("table")
    table.add_column("lignes", justify="right")
    for name, n in counts.items():
        table.add_row(name, _fr_number(n))
    console.print(table)


def main() -> None:  # pragma: no cover - console entry point
    app()


# Commands registered on `app` by their modules: exporter (filtered exports, same as the Données
# page); template, valider, charger, membres (member submissions); motdepasse (admin sign-in);
# bulletin (the quarterly bulletin).
from etl import cli_admin, cli_bulletin, cli_demo, cli_exports, cli_submissions  # noqa: E402, F401
