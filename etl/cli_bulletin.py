"""`observatoire bulletin`: the quarterly bulletin (PDF, HTML, charts) from the public file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl.cli import DbOption, app, console, user_errors
from etl.errors import UserError
from etl.paths import database_path

LANGUAGES = ("fr", "en")


@app.command()
@user_errors
def bulletin(
    periode: Annotated[
        str | None,
        typer.Option(
            "--periode", help="Trimestre, par exemple 2025-T2 (défaut : le dernier publié)."
        ),
    ] = None,
    langue: Annotated[str, typer.Option("--langue", help="fr ou en.")] = "fr",
    dossier: Annotated[
        Path | None,
        typer.Option("--dossier", help="Où écrire le bulletin (défaut : data/bulletins/)."),
    ] = None,
    base: DbOption = None,
) -> None:
    """Écrit le bulletin trimestriel (PDF, HTML, graphiques PNG et SVG) depuis le fichier public."""
    if langue not in LANGUAGES:
        raise UserError(f"--langue « {langue} » : attendu fr ou en.")
    # Imported here: the bulletin draws with Plotly and Chromium, which other commands do not need.
    import streamlit.logger

    streamlit.logger.set_log_level("error")  # the page modules' caches, here without a server
    from dashboard.bulletin import write_bulletin

    files = write_bulletin(base or database_path(), periode, langue, dossier)
    console.print(f"[green]Bulletin écrit dans[/] {files.folder}")
    for path in (files.pdf, files.html, *files.charts):
        console.print(f"  {path.name}")
