"""`observatoire demo`: build a demonstration database through the front door (docs/DEMO.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from etl.cli import DbOption, app, console, run_with_progress, user_errors
from etl.demo import build_demo
from etl.demo.build import DEFAULT_OUT_DIR
from etl.errors import UserError
from etl.paths import database_path

YEARS_PATTERN = re.compile(r"^\s*(\d{4})\s*[-–]\s*(\d{4})\s*$")


def parse_years(text: str) -> tuple[int, int]:
    """'2015-2025' -> (2015, 2025); a single year '2024' -> (2024, 2024)."""
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        return int(text), int(text)
    match = YEARS_PATTERN.match(text)
    if not match:
        raise UserError(
            f"--annees « {text} » non reconnu : écrivez la première et la dernière année séparées "
            "par un tiret, par exemple 2015-2025."
        )
    first, last = int(match.group(1)), int(match.group(2))
    if first > last:
        raise UserError(f"--annees « {text} » : la première année doit précéder la dernière.")
    return first, last


@app.command()
@user_errors
def demo(
    graine: Annotated[
        int,
        typer.Option("--seed", "--graine", help="Graine du hasard : même graine, mêmes fichiers."),
    ] = 42,
    annees: Annotated[
        str, typer.Option("--annees", help="Années couvertes, par exemple 2015-2025.")
    ] = "2015-2025",
    echelle: Annotated[
        float,
        typer.Option(
            "--echelle",
            help="Nombre de membres fictifs : 50 × échelle (antennes au-delà de 1). "
            "1 ≈ 324 000 lignes d'activité (2015-2025), 30 ≈ 9,6 millions.",
        ),
    ] = 1.0,
    dossier: Annotated[
        Path | None,
        typer.Option(
            "--dossier", help=f"Où écrire les fichiers des membres (défaut : {DEFAULT_OUT_DIR})."
        ),
    ] = None,
    base: DbOption = None,
) -> None:
    """Crée une base de démonstration : écrit les fichiers de membres fictifs et les charge."""
    years = parse_years(annees)
    path = base or database_path()
    summary = run_with_progress(
        "Démonstration",
        lambda progress: build_demo(
            path, seed=graine, years=years, scale=echelle, out_dir=dossier, progress=progress
        ),
    )
    console.print(f"[green]Base de démonstration créée :[/] {path}")
    table = Table(show_header=False, title="Données de démonstration (fictives)")
    table.add_row("Membres fictifs", _number(summary.members))
    table.add_row(
        "Fichiers écrits et chargés",
        f"{_number(summary.files_loaded)} / "
        f"{_number(summary.files_written)} (dont {_number(summary.messy_files)} « désordonnés »)",
    )
    labels = {
        "activity": "Lignes d'activité",
        "services": "Services",
        "observations": "Observations",
        "submissions": "Envois (membre × période)",
    }
    for key, label in labels.items():
        table.add_row(label, _number(summary.rows.get(key, 0)))
    table.add_row("Dossier des fichiers", str(summary.out_dir))
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.step_seconds.items())
    table.add_row("Durée", f"{summary.seconds:.1f} s ({steps})")
    console.print(table)


def _number(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")
