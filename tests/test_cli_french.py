"""No English in the French interfaces (issue #14, item 9): typer's own texts on every `--help` and
on the usual mistakes, and Streamlit's file uploader on the Administration page."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from dashboard.components import upload
from etl.cli import app as cli_app

# English that typer, click or Pydantic print by themselves.
ENGLISH = [
    "Show this message",
    "Usage",
    "Commands",
    "COMMAND",
    "[ARGS]",
    "[required]",
    "[default",
    "Error",
    "Missing",
    "Try '",
    "No such",
    "Invalid value",
    "Got unexpected",
    "requires an argument",
    "Input should",
    "Did you mean",
    "<bool>",
    "<path>",
    "<str>",
    "<int>",
    "list[",
]
COMMANDS = sorted(typer.main.get_command(cli_app).commands)


def english_in(text: str) -> list[str]:
    """The English markers found as words (« COMMAND » is not in « COMMANDE »)."""
    return [
        word
        for word in ENGLISH
        if re.search(
            rf"(?<!\w){re.escape(word)}(?!\w)" if word[-1].isalpha() else re.escape(word), text
        )
    ]


def run(*args: str):
    return CliRunner().invoke(cli_app, list(args))


MISTAKES = [
    (["charger"], "Argument manquant : 'fichiers'."),
    (["charger", "--inconnue", "x.csv"], "Option inconnue : --inconnue"),
    (["exporter", "--debut", "deux-mille"], "Valeur non valable pour '--debut' : un nombre"),
    (["exporter", "--debut"], "L'option '--debut' demande une valeur."),
    (["exporter", "a", "b"], "Argument(s) en trop : a b."),
    (["exportr"], "Commande inconnue : 'exportr'. Vouliez-vous dire 'exporter' ?"),
    (["retirer", "DEMO-01", "2024"], "Option manquante : '--motif'."),
]


def test_every_command_is_covered():
    assert {"charger", "valider", "exporter", "retirer", "demo", "template"} <= set(COMMANDS)
    print(
        f"\nFIGURE | aide en français : {len(COMMANDS) + 1} aides (--help) et {len(MISTAKES)} "
        f"erreurs de saisie vérifiées contre {len(ENGLISH)} marques d'anglais"
    )


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_every_help_is_french(command):
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert not english_in(result.output), result.output
    assert "Affiche cette aide et quitte." in result.output
    assert "Utilisation :" in result.output


@pytest.mark.parametrize(("args", "expected"), MISTAKES)
def test_the_usual_mistakes_are_french(args, expected):
    result = run(*args)
    assert result.exit_code == 2  # click's « usage error » (docs/ADMIN.md)
    text = " ".join(result.output.split())
    assert expected in text, result.output
    assert "Erreur" in text
    assert not english_in(text), result.output


def test_an_unknown_english_message_is_left_as_it_is():
    """Only typer's own texts are translated: a message of ours passes untouched."""
    from etl.cli_french import french_message

    assert french_message("Période « 2024-2 » ambiguë") == "Période « 2024-2 » ambiguë"


def test_the_uploader_texts_are_replaced_in_the_page_language():
    css = upload.uploader_css(
        "admin_file", "Choisir un fichier", "10 Mo au plus • XLSX, CSV", 'Refusé : « x » "y"'
    )
    assert css.startswith("<style>") and css.endswith("</style>")
    rules = dict(re.findall(r"([^{}]+)\{([^{}]*)\}", css.removeprefix("<style>")))
    button = '.st-key-admin_file [data-testid="stFileUploaderDropzone"] button '
    assert rules[button + '[data-testid="stMarkdownContainer"] p '].strip() == "display: none;"
    assert (
        'content: "Choisir un fichier";'
        in rules[button + '[data-testid="stMarkdownContainer"]::after ']
    )
    assert 'content: "Refusé : « x » \\"y\\"";' in css  # quotes escaped in the CSS string
    assert "</style" not in css.removeprefix("<style>").removesuffix("</style>")
