"""`observatoire motdepasse`: the hash that enables the dashboard's Administration page."""

from __future__ import annotations

from typing import Annotated

import typer

from etl.auth.passwords import prompt_and_hash
from etl.cli import app, console, user_errors
from etl.errors import UserError


@app.command()
@user_errors
def motdepasse(
    scrypt: Annotated[
        bool, typer.Option("--scrypt", help="Hachage scrypt au lieu de PBKDF2-SHA256.")
    ] = False,
) -> None:
    """Demande un mot de passe (deux fois, masqué) et affiche son hachage salé pour l'administration.

    Donnez ce hachage au serveur du tableau de bord : variable OBSERVATOIRE_ADMIN_PASSWORD_HASH, ou
    [admin] password_hash dans .streamlit/secrets.toml (voir docs/ADMIN.md). Le mot de passe lui-même
    n'est écrit nulle part.
    """

    try:
        encoded = prompt_and_hash("scrypt" if scrypt else "pbkdf2")
    except ValueError as error:
        raise UserError(str(error)) from None
    console.print(encoded, soft_wrap=True, highlight=False)
