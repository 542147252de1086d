"""Every rule of the three data sheets' tables has a file that breaks it, and gets its own message.

The tables (etl/submission/rules_activity.py, rules_services.py, rules_observations.py) list the
rules in the order they are reported; a rule added to a table without an example here fails
`test_every_rule_has_an_example`. Each example is the smallest file that breaks its rule alone
(besides what it must break to get there), with the column and a part of the French message
expected, written by hand from DESIGN §4.
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_submission_support import NEXT_YEAR, validated, write_xlsx

from etl.submission import rules_activity, rules_observations, rules_services
from etl.submission.columns import ACTIVITY_COUNT_COLUMNS

pytest_plugins = ["test_submission_support"]

TABLES = {
    "activite": rules_activity.RULES,
    "services": rules_services.RULES,
    "observations": rules_observations.RULES,
}
IDENTIFICATION = [["membre", "ALIM-01"], ["periode", "2024"]]
ACTIVITY = ["theme", "commune", "personnes"]
GOOD = ["alimentation", "Onex", 10]
COUNTS = ACTIVITY_COUNT_COLUMNS
SERVICES = ["nom", "theme", "commune", "communes_desservies", "adresse", "capacite"]
GOOD_SERVICE = ["Épicerie", "alimentation", "Onex", "Onex", "Rue 1", 20]
OBSERVATIONS = ["date", "theme", "commune", "niveau", "texte", "public"]
GOOD_OBSERVATION = ["15.03.2024", "alimentation", "Onex", "alerte", "Hausse des demandes", "oui"]
TODAY = dt.date.today()


def activity(*rows, header=ACTIVITY, identification=IDENTIFICATION):
    return {"identification": identification, "activite": [header, *rows]}


def with_count(column: str, value) -> dict:
    """A row whose persons are 10 and whose `column` holds `value`."""
    header = [*ACTIVITY, column] if column != "personnes" else ACTIVITY
    row = [*GOOD, value] if column != "personnes" else ["alimentation", "Onex", value]
    return activity(row, header=header)


def services(row) -> dict:
    return {**activity(GOOD), "services": [SERVICES, row]}


def observations(row) -> dict:
    return {**activity(GOOD), "observations": [OBSERVATIONS, row]}


def csv(*lines: str) -> str:
    return "\n".join(["membre;periode;theme;commune;personnes", *lines]) + "\n"


def replaced(row: list, index: int, value) -> list:
    return [value if i == index else cell for i, cell in enumerate(row)]


# (sheet, rule) -> (file: sheets of a workbook, or the text of a CSV; column; part of the message)
EXAMPLES = {
    ("activite", "member_unknown"): (
        activity(["XYZ", *GOOD], header=["membre", *ACTIVITY]),
        "membre",
        "Membre « XYZ » inconnu du registre de la CAPAS",
    ),
    ("activite", "member_not_the_identification_one"): (
        activity(["HEB-02", *GOOD], header=["membre", *ACTIVITY]),
        "membre",
        "n'est pas celui de la feuille identification (« ALIM-01 »)",
    ),
    ("activite", "member_missing_in_a_csv"): (
        csv(";2024;alimentation;Onex;3"),
        "membre",
        "Membre manquant : indiquez le code du membre sur chaque ligne.",
    ),
    ("activite", "period_unreadable"): (
        csv("ALIM-01;2024-T5;alimentation;Onex;3"),
        "periode",
        "Période « 2024-T5 » non reconnue.",
    ),
    ("activite", "period_not_the_identification_one"): (
        activity(["2023", *GOOD], header=["periode", *ACTIVITY]),
        "periode",
        "n'est pas celle de la feuille identification (« 2024 »)",
    ),
    ("activite", "period_missing_in_a_csv"): (
        csv("ALIM-01;;alimentation;Onex;3"),
        "periode",
        "Période manquante : indiquez la période sur chaque ligne.",
    ),
    ("activite", "theme_missing"): (
        activity([None, "Onex", 10]),
        "theme",
        "Thème manquant : choisissez un thème dans la liste.",
    ),
    ("activite", "theme_unknown"): (
        activity(["astrologie", "Onex", 10]),
        "theme",
        "Thème « astrologie » inconnu.",
    ),
    ("activite", "commune_missing"): (
        activity(["alimentation", None, 10]),
        "commune",
        "Commune manquante",
    ),
    ("activite", "commune_unknown"): (
        activity(["alimentation", "Atlantide", 10]),
        "commune",
        "Commune « Atlantide » inconnue.",
    ),
    ("activite", "personnes_missing"): (
        activity(["alimentation", "Onex", None], ["sante", "Onex", 2]),
        "personnes",
        "Valeur manquante : indiquez le nombre de personnes servies (0 s'il n'y en a pas).",
    ),
    **{
        ("activite", f"{column}_not_a_count"): (
            with_count(column, "12,5"),
            column,
            "« 12,5 » : un nombre entier est attendu, sans décimales.",
        )
        for column in COUNTS
    },
    **{
        ("activite", f"{column}_above_persons"): (
            with_count(column, 11),
            column,
            "pour 10 personnes servies : ce nombre fait partie des personnes servies",
        )
        for column in rules_activity.BREAKDOWN_LABELS
    },
    ("activite", "femmes_hommes_above_persons"): (
        activity([*GOOD, 6, 5], header=[*ACTIVITY, "femmes", "hommes"]),
        "femmes",
        "femmes + hommes = 6 + 5 = 11, plus que les 10 personnes servies.",
    ),
    ("activite", "mineurs_seniors_65_above_persons"): (
        activity([*GOOD, 7, 4], header=[*ACTIVITY, "mineurs", "seniors_65"]),
        "mineurs",
        "mineurs + seniors de 65 ans et plus = 7 + 4 = 11",
    ),
    ("activite", "duplicate_row"): (
        activity(GOOD, ["alimentation", "6631", 3]),  # Onex, by its OFS number
        "commune",
        "Ligne en double : même thème et même commune (et même membre et période) qu'à la ligne 2.",
    ),
    ("services", "name_missing"): (
        services(replaced(GOOD_SERVICE, 0, None)),
        "nom",
        "Nom du service manquant",
    ),
    ("services", "theme_missing"): (
        services(replaced(GOOD_SERVICE, 1, None)),
        "theme",
        "Thème manquant",
    ),
    ("services", "theme_unknown"): (
        services(replaced(GOOD_SERVICE, 1, "cuisine")),
        "theme",
        "Thème « cuisine » inconnu.",
    ),
    ("services", "commune_missing"): (
        services(replaced(GOOD_SERVICE, 2, None)),
        "commune",
        "Commune manquante",
    ),
    ("services", "commune_unknown"): (
        services(replaced(GOOD_SERVICE, 2, "Lyon")),
        "commune",
        "Commune « Lyon » inconnue.",
    ),
    ("services", "excel_error_in_free_text"): (
        services(replaced(GOOD_SERVICE, 4, "#REF!")),
        "adresse",
        "« #REF! » : la cellule contient une erreur de formule d'Excel",
    ),
    ("services", "capacite_not_a_count"): (
        services(replaced(GOOD_SERVICE, 5, "beaucoup")),
        "capacite",
        "« beaucoup » n'est pas un nombre.",
    ),
    ("services", "served_commune_unknown"): (
        services(replaced(GOOD_SERVICE, 3, "Onex, Lyon")),
        "communes_desservies",
        "« Lyon » n'est pas une commune genevoise reconnue.",
    ),
    ("observations", "theme_missing"): (
        observations(replaced(GOOD_OBSERVATION, 1, None)),
        "theme",
        "Thème manquant",
    ),
    ("observations", "theme_unknown"): (
        observations(replaced(GOOD_OBSERVATION, 1, "météo")),
        "theme",
        "Thème « météo » inconnu.",
    ),
    ("observations", "commune_unknown"): (
        observations(replaced(GOOD_OBSERVATION, 2, "Paris")),
        "commune",
        "Commune « Paris » inconnue.",
    ),
    ("observations", "date_missing"): (
        observations(replaced(GOOD_OBSERVATION, 0, None)),
        "date",
        "Date manquante",
    ),
    ("observations", "date_unreadable"): (
        observations(replaced(GOOD_OBSERVATION, 0, "mars")),
        "date",
        "Date « mars » non reconnue",
    ),
    ("observations", "date_in_the_future"): (
        observations(replaced(GOOD_OBSERVATION, 0, f"01.01.{NEXT_YEAR}")),
        "date",
        f"La date 01.01.{NEXT_YEAR} est dans le futur.",
    ),
    ("observations", "date_outside_the_period"): (
        observations(replaced(GOOD_OBSERVATION, 0, "15.03.2022")),
        "date",
        "La date 15.03.2022 est en dehors de la période 2024",
    ),
    ("observations", "level_missing"): (
        observations(replaced(GOOD_OBSERVATION, 3, None)),
        "niveau",
        "Niveau manquant",
    ),
    ("observations", "level_unknown"): (
        observations(replaced(GOOD_OBSERVATION, 3, "urgent")),
        "niveau",
        "Niveau « urgent » inconnu : choisissez information, vigilance ou alerte.",
    ),
    ("observations", "public_unknown"): (
        observations(replaced(GOOD_OBSERVATION, 5, "peut-être")),
        "public",
        "« peut-être » : écrivez oui",
    ),
    ("observations", "text_missing"): (
        observations(replaced(GOOD_OBSERVATION, 4, None)),
        "texte",
        "Texte manquant",
    ),
    ("observations", "text_too_long"): (
        observations(replaced(GOOD_OBSERVATION, 4, "x" * 2001)),
        "texte",
        "Le texte compte 2001 caractères ; 2000 au plus.",
    ),
    ("observations", "text_with_personal_data"): (
        observations(replaced(GOOD_OBSERVATION, 4, "Appeler le 079 123 45 67")),
        "texte",
        "Le texte contient un numéro de téléphone (masqué ci-contre).",
    ),
    ("observations", "excel_error_in_free_text"): (
        observations(replaced(GOOD_OBSERVATION, 4, "#N/A")),
        "texte",
        "« #N/A » : la cellule contient une erreur de formule d'Excel",
    ),
}


def test_every_rule_has_an_example():
    in_tables = {(sheet, rule.__name__) for sheet, rules in TABLES.items() for rule in rules}
    assert in_tables == set(EXAMPLES)
    names = [rule.__name__ for rules in TABLES.values() for rule in rules]
    print(f"\nFIGURE | règles : {len(names)} dans les tables des trois feuilles, chacune testée")


@pytest.mark.parametrize(("sheet", "rule"), sorted(EXAMPLES))
def test_each_rule_gives_its_message(base_db, tmp_path, sheet, rule):
    content, column, message = EXAMPLES[sheet, rule]
    if isinstance(content, str):
        path = tmp_path / "exemple.csv"
        path.write_text(content, encoding="utf-8")
    else:
        path = write_xlsx(tmp_path / "exemple.xlsx", content)
    result = validated(path, base_db)
    found = [issue for issue in result.issue_list() if issue.sheet == sheet]
    assert [(i.column, message in i.message) for i in found if message in i.message] == [
        (column, True)
    ], [(i.column, i.message) for i in result.issue_list()]
