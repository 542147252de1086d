"""Every rejection rule of a submission, with the French message a member can act on."""

from __future__ import annotations

import datetime as dt

import pytest
from test_submission_support import NEXT_YEAR, errors_at, messages, workbook, write_xlsx

from etl.submission.load import load_files, validate_files
from etl.submission.report import render_html

pytest_plugins = ["test_submission_support"]

HEADER = [
    "theme",
    "commune",
    "personnes",
    "femmes",
    "hommes",
    "mineurs",
    "seniors_65",
    "nouvelles_personnes",
]


def check(base_db, path):
    [result] = validate_files([path], base_db)
    return result


def one_error(result, sheet="activite"):
    errors = result.errors
    assert len(errors) == 1, messages(result)
    assert errors[0].sheet == sheet
    return errors[0]


def test_a_valid_file_has_no_issue(base_db, tmp_path):
    path = workbook(tmp_path / "ok.xlsx", [HEADER, ["alimentation", "Onex", 10, 6, 4, 2, 1, 3]])
    result = check(base_db, path)
    assert result.status == "valide" and result.issues == []
    assert (result.member_code, result.period_code, result.rows_accepted) == ("ALIM-01", "2024", 1)


def test_an_unknown_member_is_refused_on_its_cell(base_db, tmp_path):
    path = workbook(tmp_path / "m.xlsx", [HEADER, ["alimentation", "Onex", 10]], member="XYZ-99")
    result = check(base_db, path)
    issue = one_error(result, "identification")
    assert result.status == "rejete"
    assert (issue.row, issue.column, issue.value, issue.cell) == (1, "membre", "XYZ-99", "B1")
    assert "Membre « XYZ-99 » inconnu du registre" in issue.message
    assert "inscrire au registre" in issue.message


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2024-T5", "Période « 2024-T5 » non reconnue"),
        ("1999", "Période « 1999 » non reconnue"),
        ("l'an dernier", "non reconnue. Écrivez l'année (2025), le trimestre"),
        (NEXT_YEAR, f"La période « {NEXT_YEAR} » n'a pas encore commencé (elle débute le 01.01."),
    ],
)
def test_a_wrong_or_future_period_is_refused(base_db, tmp_path, period, expected):
    path = workbook(tmp_path / "p.xlsx", [HEADER, ["alimentation", "Onex", 10]], period=period)
    issue = one_error(check(base_db, path), "identification")
    assert issue.column == "periode" and issue.value == period
    assert expected in issue.message


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        (
            ["alimentaire?", "Onex", 10],
            "theme",
            "Thème « alimentaire? » inconnu. Choisissez un thème",
        ),
        ([None, "Onex", 10], "theme", "Thème manquant"),
        (["alimentation", "Atlantide", 10], "commune", "Commune « Atlantide » inconnue"),
        (["alimentation", None, 10], "commune", "Commune manquante"),
        (
            ["alimentation", "Onex", -3],
            "personnes",
            "« -3 » : un nombre négatif n'est pas possible",
        ),
        (["alimentation", "Onex", "12,5"], "personnes", "« 12,5 » : un nombre entier est attendu"),
        (["alimentation", "Onex", 12.5], "personnes", "« 12.5 » : un nombre entier est attendu"),
        (["alimentation", "Onex", "beaucoup"], "personnes", "« beaucoup » n'est pas un nombre"),
        (["alimentation", "Onex", "12'34"], "personnes", "« 12'34 » n'est pas un nombre"),
        (["alimentation", "Onex", None, 3], "personnes", "Valeur manquante : indiquez le nombre"),
        (
            ["alimentation", "Onex", "-"],
            "personnes",
            "« - » : indiquez le nombre de personnes servies",
        ),
        (
            ["alimentation", "Onex", 10, 11],
            "femmes",
            "11 femmes pour 10 personnes servies : ce nombre fait partie des personnes servies",
        ),
        (
            ["alimentation", "Onex", 10, None, None, None, None, 12],
            "nouvelles_personnes",
            "12 nouvelles personnes pour 10 personnes servies",
        ),
        (
            ["alimentation", "Onex", 10, 6, 5],
            "femmes",
            "femmes + hommes = 6 + 5 = 11, plus que les 10 personnes servies",
        ),
        (
            ["alimentation", "Onex", 10, None, None, 7, 4],
            "mineurs",
            "mineurs + seniors de 65 ans et plus = 7 + 4 = 11",
        ),
    ],
)
def test_each_activity_rule_names_row_column_and_fix(base_db, tmp_path, row, column, expected):
    path = workbook(tmp_path / "a.xlsx", [HEADER, ["alimentation", "Lancy", 1], row])
    result = check(base_db, path)
    issue = one_error(result)
    assert (issue.row, issue.column) == (3, column)
    assert expected in issue.message
    assert result.status == "rejete" and result.rows_rejected == 1 and result.rows_accepted == 1


def test_a_dash_in_an_optional_column_means_unknown(base_db, tmp_path):
    path = workbook(tmp_path / "d.xlsx", [HEADER, ["alimentation", "Onex", 10, "-", "n.d."]])
    assert check(base_db, path).issues == []


def test_two_spellings_of_one_commune_are_a_duplicate(base_db, tmp_path):
    path = workbook(
        tmp_path / "dup.xlsx",
        [HEADER, ["alimentation", "Carouge", 10], ["Aide alimentaire", "Carouge (GE)", 5]],
    )
    issue = one_error(check(base_db, path))
    assert issue.row == 3
    assert "Ligne en double : même thème et même commune" in issue.message
    assert "qu'à la ligne 2" in issue.message


def test_a_member_column_that_contradicts_the_identification_is_refused(base_db, tmp_path):
    path = workbook(
        tmp_path / "c.xlsx", [["membre", *HEADER], ["HEB-02", "alimentation", "Onex", 1]]
    )
    issue = one_error(check(base_db, path))
    assert issue.column == "membre"
    assert "n'est pas celui de la feuille identification (« ALIM-01 »)" in issue.message


def test_a_csv_without_member_and_period_columns_is_refused(base_db, tmp_path):
    path = tmp_path / "no_member.csv"
    path.write_text("theme,commune,personnes\nalimentation,Onex,3\n", encoding="utf-8")
    result = check(base_db, path)
    assert "Colonne « membre » absente" in messages(result)
    assert "Colonne « periode » absente" in messages(result)


def test_a_csv_with_an_unknown_member_names_each_row(base_db, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        "membre,periode,theme,commune,personnes\nALIM-01,2024,alimentation,Onex,3\n"
        "NOBODY,2024,alimentation,Onex,4\n",
        encoding="utf-8",
    )
    issue = one_error(check(base_db, path))
    assert (issue.row, issue.column, issue.value) == (3, "membre", "NOBODY")
    assert "Membre « NOBODY » inconnu" in issue.message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0", "Format de fichier non pris en charge (.xls)"),
        ("broken.xlsx", b"not a workbook", "n'est pas un classeur Excel lisible"),
    ],
)
def test_an_unreadable_file_is_refused(base_db, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    result = check(base_db, path)
    assert result.status == "rejete" and expected in messages(result)


def test_missing_sheet_header_or_column_are_refused(base_db, tmp_path):
    no_sheet = write_xlsx(tmp_path / "s.xlsx", {"Feuil1": [["theme", "commune", "personnes"]]})
    assert "Feuille « activite » introuvable (feuilles du fichier : « Feuil1 »)" in messages(
        check(base_db, no_sheet)
    )
    no_header = workbook(tmp_path / "h.xlsx", [["a", "b"], [1, 2]])
    assert "Ligne des titres de colonnes introuvable" in messages(check(base_db, no_header))
    no_count = workbook(
        tmp_path / "c.xlsx",
        [["theme", "commune", "prestations", "personne"], ["alimentation", "Onex", 3, 4]],
    )
    text = messages(check(base_db, no_count))
    assert "Colonne obligatoire « personnes » absente" in text
    assert "Vouliez-vous dire « personnes » ?" in text


def test_an_empty_file_is_refused(base_db, tmp_path):
    path = workbook(tmp_path / "e.xlsx", [HEADER])
    assert "ne contient aucune ligne de données" in messages(check(base_db, path))


# ---------------------------------------------------------------- observations


OBS_HEADER = ["date", "theme", "commune", "niveau", "texte", "public"]


def observation(tmp_path, *row, period="2024"):
    return workbook(
        tmp_path / "o.xlsx",
        [HEADER, ["alimentation", "Onex", 10]],
        period=period,
        observations=[OBS_HEADER, list(row)],
    )


@pytest.mark.parametrize(
    ("text", "what", "hidden"),
    [
        ("Contacter marie.dupont@example.ch pour le suivi", "une adresse électronique", "dupont"),
        ("Joindre la famille au 079 123 45 67", "un numéro de téléphone", "079"),
        ("Tél. +41 22 345 67 89 en cas de besoin", "un numéro de téléphone", "345"),
        ("N° AVS 756.1234.5678.97 du bénéficiaire", "un numéro AVS", "5678"),
        ("Versement sur CH93 0076 2011 6238 5295 7", "un IBAN", "6238"),
    ],
)
def test_personal_data_in_an_observation_is_refused_and_not_repeated(
    base_db, tmp_path, text, what, hidden
):
    path = observation(tmp_path, "15.03.2024", "alimentation", None, "vigilance", text, "non")
    issue = one_error(check(base_db, path), "observations")
    assert (issue.row, issue.column) == (2, "texte")
    assert f"Le texte contient {what}" in issue.message
    assert "aucune donnée personnelle" in issue.message
    assert hidden not in issue.value and "[masqué]" in issue.value


def test_ordinary_numbers_in_an_observation_are_not_personal_data(base_db, tmp_path):
    text = (
        "En 2024, 120 personnes dont 35 familles ; hausse de 12,5 % depuis le 01.03.2024. "
        "Permanence au 022 : voir le CSP. Code postal 1205, ligne 12."
    )
    path = observation(
        tmp_path, dt.date(2024, 3, 15), "alimentation", "Onex", "alerte", text, "oui"
    )
    assert check(base_db, path).issues == []


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        (
            ["15.03.2024", "alimentation", None, "information", "x" * 2001, "oui"],
            "texte",
            "Le texte compte 2001 caractères ; 2000 au plus",
        ),
        (
            ["15.03.2024", "alimentation", None, "information", None, "oui"],
            "texte",
            "Texte manquant",
        ),
        (
            ["15.03.2024", "alimentation", None, "urgent", "Hausse", "oui"],
            "niveau",
            "Niveau « urgent » inconnu : choisissez information, vigilance ou alerte",
        ),
        (
            ["15.03.2024", "alimentation", None, "alerte", "Hausse", "peut-être"],
            "public",
            "« peut-être » : écrivez oui",
        ),
        (
            ["15.03.2022", "alimentation", None, "alerte", "Hausse", "oui"],
            "date",
            "La date 15.03.2022 est en dehors de la période 2024 (du 01.01.2024 au 31.12.2024",
        ),
        (
            ["31.02.2024", "alimentation", None, "alerte", "Hausse", "oui"],
            "date",
            "Date « 31.02.2024 » non reconnue : écrivez-la jj.mm.aaaa",
        ),
        (
            ["15.03.2024", "alimentation", "Paris", "alerte", "Hausse", "oui"],
            "commune",
            "Commune « Paris » inconnue",
        ),
    ],
)
def test_each_observation_rule(base_db, tmp_path, row, column, expected):
    issue = one_error(check(base_db, observation(tmp_path, *row)), "observations")
    assert (issue.row, issue.column) == (2, column)
    assert expected in issue.message


def test_observation_dates_may_be_a_month_outside_the_period(base_db, tmp_path):
    path = observation(
        tmp_path, "2024-01-25", "alimentation", None, "info", "Hausse", None, period="2024-02"
    )
    assert check(base_db, path).errors == []


# ---------------------------------------------------------------- services

SERVICE_HEADER = ["nom", "theme", "type", "commune", "communes_desservies", "capacite"]


def test_each_service_rule(base_db, tmp_path):
    path = workbook(
        tmp_path / "s.xlsx",
        [HEADER, ["alimentation", "Onex", 10]],
        services=[
            SERVICE_HEADER,
            [None, "alimentation", "distribution", "Onex", None, 10],
            ["Bus", "alimentation", None, "Onex", "Onex; Lyon", "beaucoup"],
        ],
    )
    result = check(base_db, path)
    found = {(i.row, i.column): i.message for i in errors_at(result, "services")}
    assert "Nom du service manquant" in found[(2, "nom")]
    assert "« Lyon » n'est pas une commune genevoise reconnue" in found[(3, "communes_desservies")]
    assert "« beaucoup » n'est pas un nombre" in found[(3, "capacite")]
    assert len(found) == 3


# ---------------------------------------------------------------- periods of one year


def test_annual_and_quarterly_figures_of_one_year_cannot_be_mixed(fresh_db, tmp_path):
    annual = workbook(
        tmp_path / "annual.xlsx", [HEADER, ["alimentation", "Onex", 10]], period="2024"
    )
    [loaded] = load_files([annual], fresh_db)
    assert loaded.status == "charge"
    quarter = workbook(
        tmp_path / "q1.xlsx", [HEADER, ["alimentation", "Onex", 3]], period="2024-T1"
    )
    [result] = load_files([quarter], fresh_db)
    issue = one_error(result, "identification")
    assert result.status == "rejete"
    assert "Périodicités mélangées pour le membre ALIM-01 en 2024" in issue.message
    assert "2024 (déjà chargée)" in issue.message and "2024-T1" in issue.message
    assert "le chiffre annuel est la somme des trimestres ou des mois" in issue.message
    other_year = workbook(
        tmp_path / "q1b.xlsx", [HEADER, ["alimentation", "Onex", 3]], period="2023-T1"
    )
    assert load_files([other_year], fresh_db)[0].status == "charge"


def test_one_csv_cannot_mix_a_year_and_its_months(base_db, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "membre,periode,theme,commune,personnes\n"
        "ALIM-01,2024,alimentation,Onex,3\n"
        "ALIM-01,2024-03,alimentation,Onex,1\n"
        "HEB-02,2024-03,hebergement,Onex,1\n",
        encoding="utf-8",
    )
    result = check(base_db, path)
    rows = sorted(issue.row for issue in result.errors)
    assert rows == [2, 3]  # the first row of each of ALIM-01's two periods
    assert all(
        "Périodicités mélangées pour le membre ALIM-01 en 2024" in i.message for i in result.errors
    )


def test_a_column_wrong_all_the_way_down_reads_as_one_line(base_db, tmp_path):
    rows = [HEADER] + [["alimentation", "Nulle-part", n] for n in range(1, 1201)]
    path = workbook(tmp_path / "long.xlsx", rows, member="INCONNU")
    result = check(base_db, path)
    assert result.issues_total == 1201 and len(result.issues) == 1000  # capped, counted
    assert result.issues[0].sheet == "identification"  # never hidden by the long column
    html = render_html([result]).replace("\u00a0", " ")
    assert html.count("Commune « Nulle-part » inconnue") == 1
    assert "2 à 1000" in html  # the 999 rows kept, as one range
    assert "201 autres problèmes non affichés" in html
