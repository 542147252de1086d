"""The command line's own texts in French: typer's help and error messages.

Typer writes its texts (« Show this message and exit. », « Usage: », « Missing argument », the
« Error » box, Pydantic's « Input should be a valid integer ») in English, partly as fixed strings
of the click copy it carries (typer._click), with no catalogue to translate them. `install()`:

- sets typer's panel titles and markers (computed once at import, so they are set, not looked up)
  and gives typer's gettext a French dictionary;
- gives the help option its French text and the usage line its French prefix;
- translates each error message on its way to the screen (`french_message`, patterns of the exact
  English texts below).

A text not covered stays English: tests/test_cli_french.py runs every command's help and the usual
mistakes and fails on any English left.
"""

from __future__ import annotations

import re

import typer.core
import typer.rich_utils
from typer._click import core as click_core
from typer._click import formatting as click_formatting

HELP_OPTION = "Affiche cette aide et quitte."
USAGE_PREFIX = "Utilisation : "
GETTEXT = {  # typer.core's own gettext texts
    "default: {default}": "défaut : {default}",
    "env var: {var}": "variable d'environnement : {var}",
    "required": "obligatoire",
    "(dynamic)": "(calculé)",
    "Arguments": "Arguments",
    "Options": "Options",
    "Commands": "Commandes",
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "Aborted!": "Interrompu.",
}
TYPER_TEXTS = {  # typer.rich_utils, computed at import
    "DEPRECATED_STRING": "(obsolète) ",
    "DEFAULT_STRING": "[défaut : {}]",
    "ENVVAR_STRING": "[variable d'environnement : {}]",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commandes",
    "ERRORS_PANEL_TITLE": "Erreur",
    "ABORTED_TEXT": "Interrompu.",
    "RICH_HELP": "Essayez [blue]« {command_path} {help_option} »[/] pour l'aide.",
}
# The type typer shows beside each option in the help (Python's type names).
TYPE_LABELS = {
    "<bool>": None,  # a flag: nothing to write after it
    "<path>": "<chemin>",
    "<list[Path]>": "<fichiers>",
    "<str>": "<texte>",
    "<list[str]>": "<texte>",
    "<int>": "<entier>",
    "<float>": "<nombre>",
}
MISSING = {"argument": "Argument manquant", "option": "Option manquante"}
# Pydantic's reasons for a value it could not read (typer validates values with it).
VALUE_REASONS = [
    (r"^Input should be a valid integer.*$", "un nombre entier est attendu"),
    (r"^Input should be a valid number.*$", "un nombre est attendu"),
    (r"^Input should be a valid boolean.*$", "oui (true) ou non (false) est attendu"),
    (r"^Input should be (.+)$", lambda m: "valeurs possibles : " + m[1].replace(" or ", " ou ")),
]
# The English messages of typer's click copy -> French (applied in order, first match wins).
MESSAGES = [
    (
        r"^Missing (argument|option|parameter) ?(.*?)\.(?: (.*))?$",
        lambda m: f"{MISSING.get(m[1], 'Paramètre manquant')} : {m[2]}." + f" {m[3] or ''}",
    ),
    (r"^Missing parameter: (.*)$", r"Paramètre manquant : \1"),
    (
        r"^Invalid value for (.+?): (.*)$",
        lambda m: f"Valeur non valable pour {m[1]} : {_reason(m[2])}.",
    ),
    (r"^Invalid value: (.*)$", lambda m: f"Valeur non valable : {_reason(m[1])}."),
    (r"^No such option: (\S+)(?: \(Possible options: (.*)\))?$", r"Option inconnue : \1 \2"),
    (r"^No such command '(.*?)'\.(.*)$", r"Commande inconnue : '\1'.\2"),
    (r"^Got unexpected extra argument\(s\) \((.*)\)$", r"Argument(s) en trop : \1."),
    (r"^Option '(.+)' requires an argument\.$", r"L'option '\1' demande une valeur."),
    (r"^Option '(.+)' requires (\d+) arguments\.$", r"L'option '\1' demande \2 valeurs."),
    (r"^Option '(.+)' does not take a value\.$", r"L'option '\1' ne prend pas de valeur."),
    (r"^Argument '(.+)' takes (\d+) values\.$", r"L'argument '\1' prend \2 valeurs."),
    (r"^Missing command\.$", "Commande manquante."),
    (r"^Could not open file (.+?): (.*)$", r"Impossible d'ouvrir le fichier \1 : \2"),
]
SUGGESTION = (r"\.? Did you mean (.+)\?$", r". Vouliez-vous dire \1 ?")


def _reason(text: str) -> str:
    for pattern, replacement in VALUE_REASONS:
        if re.match(pattern, text):
            return re.sub(pattern, replacement, text)
    return "valeur non valable"


def french_message(message: str) -> str:
    """Typer's English error message in French (unchanged if it is not one of typer's)."""
    message = re.sub(SUGGESTION[0], SUGGESTION[1], message)
    for pattern, replacement in MESSAGES:
        if re.match(pattern, message, flags=re.S):
            return re.sub(pattern, replacement, message, flags=re.S).strip()
    return message


def _french_error(original):
    def rich_format_error(self) -> None:
        english = self.format_message
        self.format_message = lambda: french_message(english())
        original(self)

    return rich_format_error


def _french_help_option(original):
    def get_help_option(self, ctx):
        option = original(self, ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option

    return get_help_option


def _french_usage(original):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        original(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

    return write_usage


def _french_type(original):
    def display_type_rich(self, ctx):
        label = original(self, ctx)
        return TYPE_LABELS.get(label, label) if label is not None else None

    return display_type_rich


PATCHES = [  # (owner, attribute, wrapper)
    (typer.rich_utils, "rich_format_error", _french_error),
    (click_core.Command, "get_help_option", _french_help_option),
    (click_formatting.HelpFormatter, "write_usage", _french_usage),
    (typer.core.TyperArgument, "display_type_rich", _french_type),
    (typer.core.TyperOption, "display_type_rich", _french_type),
]


def install() -> None:
    """Make typer's texts French (once per process)."""
    typer.core._ = lambda message: GETTEXT.get(message, message)
    for name, text in TYPER_TEXTS.items():
        setattr(typer.rich_utils, name, text)
    for owner, attribute, wrapper in PATCHES:
        current = getattr(owner, attribute)
        if not getattr(current, "french", False):
            patched = wrapper(current)
            patched.french = True
            setattr(owner, attribute, patched)
