"""Member files that loaded wrong figures silently or got a misleading message (issue #14, items 1,
2, 3 and 8): each is refused with a message naming the real problem, or read the one way it can be.

Expectations are written from the issue and computed by hand: line numbers count the header line as
line 1, as in Excel and in a text editor.
"""

from __future__ import annotations

import pytest
from test_reliability_support import corpus_module
from test_submission_support import messages, table, validated, workbook, write_xlsx

from etl.errors import UserError
from etl.submission import reader
from etl.submission.load import load_files, validate_files
from etl.submission.template import template_data

pytest_plugins = ["test_submission_support"]

corpus = corpus_module()
HEADER = ["theme", "commune", "personnes", "femmes", "hommes"]
IDENTIFICATION = [["membre", "ALIM-01"], ["periode", "2024"]]
CSV_HEADER = "membre,periode,theme,commune,personnes,prestations\n"


def check(base_db, path):
    [result] = validate_files([path], base_db)
    return result


def as_text_only(monkeypatch) -> None:
    """Read CSV files the slow way (every cell as text), as when the typed fast path declines."""
    monkeypatch.setattr(reader, "_read_csv_with_plain_counts", lambda raw, data: False)


def errors(result) -> list[tuple]:
    return [(issue.sheet, issue.row, issue.column) for issue in result.errors]


# --- 1. a line with more values than titles --------------------------------------------------------


@pytest.mark.parametrize("path_taken", ["typed counts", "text"])
def test_a_thousands_separator_that_is_the_separator_is_refused_not_cut(
    base_db, tmp_path, monkeypatch, path_taken
):
    """`…,Onex,1,234,50`: 7 values under 6 titles. Cut, it loaded 1 person and 234 services."""
    if path_taken == "text":
        as_text_only(monkeypatch)
    path = tmp_path / "virgules.csv"
    path.write_text(
        CSV_HEADER
        + "ALIM-01,2024,alimentation,Carouge,3,4\n"
        + "ALIM-01,2024,alimentation,Onex,1,234,50\n",
        encoding="utf-8",
    )
    result = check(base_db, path)
    assert result.status == "rejete"
    [issue] = result.errors
    assert (issue.sheet, issue.row) == ("activite", 3)  # header = line 1
    assert "Cette ligne a 7 valeurs, alors que la ligne des titres en annonce 6" in issue.message
    assert "séparateur « , » (virgule)" in issue.message and "(1,234)" in issue.message
    assert issue.value == "ALIM-01,2024,alimentation,Onex,1,234,50"


def test_a_file_with_a_long_line_loads_nothing(fresh_db, tmp_path):
    path = tmp_path / "virgules.csv"
    path.write_text(CSV_HEADER + "ALIM-01,2024,alimentation,Onex,1,234,50\n", encoding="utf-8")
    [result] = load_files([path], fresh_db)
    assert result.status == "rejete"
    assert table(fresh_db, "select count(*) from activity") == [(0,)]


def test_every_long_line_is_named_with_its_counts(base_db, tmp_path):
    path = tmp_path / "plusieurs.csv"
    path.write_text(
        "membre;periode;theme;commune;personnes\n"
        "ALIM-01;2024;alimentation;Onex;12\n"
        "ALIM-01;2024;sante;Onex;1;234\n"
        "ALIM-01;2024;hygiene;Onex;5\n"
        "ALIM-01;2024;logement;Onex;1;2;3\n",
        encoding="utf-8",
    )
    result = check(base_db, path)
    found = [(issue.row, issue.message.split(",")[0]) for issue in result.errors]
    assert found == [
        (3, "Cette ligne a 6 valeurs"),
        (5, "Cette ligne a 7 valeurs"),
    ]
    assert all("séparateur « ; » (point-virgule)" in issue.message for issue in result.errors)


def test_empty_values_beyond_the_titles_carry_nothing_and_are_read(fresh_db, tmp_path):
    """`;;` at the end of some lines (a spreadsheet's empty columns): nothing to lose."""
    path = tmp_path / "fin_vide.csv"
    path.write_text(
        "membre;periode;theme;commune;personnes\n"
        "ALIM-01;2024;alimentation;Onex;12;;\n"
        "ALIM-01;2024;sante;Onex;5\n",
        encoding="utf-8",
    )
    [result] = load_files([path], fresh_db)
    assert result.status == "charge", messages(result)
    assert table(fresh_db, "select theme, personnes from activity order by theme") == [
        ("alimentation", 12),
        ("sante", 5),
    ]


# --- 2. hidden sheets, rows and columns ---------------------------------------------------------------


def test_a_hidden_sheet_with_data_is_never_loaded_silently(fresh_db, tmp_path):
    """The issue's workbook: visible « Activité T1 2026 », an old hidden `activite` (Onex 9999)."""
    path = tmp_path / "masquee.xlsx"
    path.write_bytes(corpus.corpus()["feuille_masquee.xlsx"])
    [result] = load_files([path], fresh_db)
    assert result.status == "rejete"
    [issue] = result.errors
    assert issue.sheet == "activite"
    assert "La feuille « activite » est masquée et contient des données" in issue.message
    assert "Feuilles visibles : « identification », « Activité T1 2026 »" in issue.message
    assert table(fresh_db, "select count(*) from activity where personnes = 9999") == [(0,)]


def test_a_very_hidden_sheet_is_named_with_what_to_do(base_db, tmp_path):
    data = corpus.xlsx_bytes(
        {"identification": IDENTIFICATION, "activite": [HEADER, ["sante", "Onex", 3, 1, 1]]}
    )
    path = tmp_path / "tres_masquee.xlsx"
    path.write_bytes(
        corpus.rewrite_member(
            data,
            "xl/workbook.xml",
            lambda xml: xml.replace(b'name="activite"', b'name="activite" state="veryHidden"'),
        )
    )
    [issue] = check(base_db, path).errors
    assert "ne la montre pas (même avec « Afficher »)" in issue.message


def test_a_hidden_sheet_of_another_name_is_not_read_and_not_a_problem(base_db, tmp_path):
    """The template's own hidden `listes` sheet (dropdown values) is not a data sheet."""
    path = tmp_path / "listes.xlsx"
    path.write_bytes(
        corpus.xlsx_bytes(
            {
                "identification": IDENTIFICATION,
                "activite": [HEADER, ["sante", "Onex", 3, 1, 1]],
                "listes": [["alimentation"], ["sante"]],
            },
            hidden_sheets=("listes",),
        )
    )
    assert check(base_db, path).status == "valide"


def test_hidden_rows_holding_data_are_refused_row_by_row(base_db, tmp_path):
    rows = [HEADER, ["alimentation", "Onex", 12, 7, 5], ["sante", "Onex", 9999, 1, 1]]
    rows += [["hygiene", "Onex", 3, 1, 1], ["logement", "Onex", 8888, 1, 1], [None] * 5]
    rows += [["Total", None, 20897, None, None]]
    path = tmp_path / "lignes.xlsx"
    # 0-based rows 2 and 4 are Excel rows 3 and 5; the hidden blank row 6 and total row 7 carry
    # nothing that would be loaded.
    path.write_bytes(
        corpus.xlsx_bytes(
            {"identification": IDENTIFICATION, "activite": rows},
            hidden_rows={"activite": [2, 4, 5, 6]},
        )
    )
    result = check(base_db, path)
    assert errors(result) == [("activite", 3, None), ("activite", 5, None)]
    assert all("Ligne masquée (ou cachée par un filtre)" in i.message for i in result.errors)


def test_a_hidden_column_is_refused_only_when_its_values_would_be_loaded(base_db, tmp_path):
    rows = [[*HEADER, "remarque"], ["alimentation", "Onex", 12, 7, 5, "interne"]]
    path = tmp_path / "colonnes.xlsx"
    path.write_bytes(
        corpus.xlsx_bytes(
            {"identification": IDENTIFICATION, "activite": rows},
            hidden_columns={"activite": [4, 5]},  # E (hommes) and F (remarque, not loaded)
        )
    )
    result = check(base_db, path)
    [issue] = result.errors
    assert (issue.row, issue.column, issue.cell) == (1, "hommes", "E1")
    assert "La colonne « hommes » (E) est masquée et contient des données" in issue.message
    assert [w.column for w in result.warnings] == ["remarque"]  # ignored, visible or not


def test_a_period_in_a_hidden_row_of_the_identification_is_refused(base_db, tmp_path):
    path = tmp_path / "identification.xlsx"
    path.write_bytes(
        corpus.xlsx_bytes(
            {"identification": IDENTIFICATION, "activite": [HEADER, ["sante", "Onex", 3, 1, 1]]},
            hidden_rows={"identification": [1]},
        )
    )
    [issue] = check(base_db, path).errors
    assert (issue.sheet, issue.row, issue.column, issue.value) == (
        "identification",
        2,
        "periode",
        "2024",
    )


# --- 3. a period that could be a month or a quarter ------------------------------------------------


@pytest.mark.parametrize(
    ("written", "month", "quarter"),
    [
        ("2024-2", "2024-02", "2024-T2"),
        ("2024/2", "2024-02", "2024-T2"),
        ("2024.3", "2024-03", "2024-T3"),
        ("2024 - 1", "2024-01", "2024-T1"),
        ("4/2024", "2024-04", "2024-T4"),
        ("1-2024", "2024-01", "2024-T1"),
    ],
)
def test_a_period_that_could_be_a_month_or_a_quarter_is_refused(
    base_db, tmp_path, written, month, quarter
):
    path = tmp_path / "periode.csv"
    path.write_text(
        f"membre;periode;theme;commune;personnes\nALIM-01;{written};sante;Onex;3\n",
        encoding="utf-8",
    )
    [issue] = check(base_db, path).errors
    assert (issue.row, issue.column, issue.value) == (2, "periode", written)
    assert issue.message == (
        f"Période « {written} » ambiguë : mois ({month}) ou trimestre ({quarter}) ? Écrivez "
        "l'année (2024), le trimestre (2024-T1 à 2024-T4) ou le mois sur deux chiffres "
        f"({month})."
    )


@pytest.mark.parametrize(
    ("written", "code"),
    [("2024-T2", "2024-T2"), ("2024-02", "2024-02"), ("02.2024", "2024-02"), ("2024-7", "2024-07")],
)
def test_unambiguous_spellings_stay_accepted(base_db, tmp_path, written, code):
    """A two-digit month, a quarter, and a single digit from 5 to 9 (no such quarter)."""
    path = workbook(tmp_path / "p.xlsx", [HEADER, ["sante", "Onex", 3, 1, 1]], period=written)
    result = validated(path, base_db)
    assert not result.has_errors, result.issue_list()
    assert result.slices["period_code"].to_list() == [code]


def test_the_template_refuses_an_ambiguous_period_too(base_db):
    from etl.db import open_reader

    con = open_reader(base_db)
    try:
        with pytest.raises(UserError, match=r"Période « 2024-2 » ambiguë : mois \(2024-02\)"):
            template_data(con, "ALIM-01", "2024-2")
    finally:
        con.close()


# --- 8. messages that misled ------------------------------------------------------------------------


@pytest.mark.parametrize("path_taken", ["typed counts", "text"])
def test_an_unclosed_quote_names_its_line_in_french(base_db, tmp_path, monkeypatch, path_taken):
    if path_taken == "text":
        as_text_only(monkeypatch)
    path = tmp_path / "guillemet.csv"
    path.write_text(
        "membre;periode;theme;commune;personnes\n"
        "ALIM-01;2024;alimentation;Onex;12\n"
        'ALIM-01;2024;"sante;Onex;3\n'
        "ALIM-01;2024;hygiene;Onex;4\n",
        encoding="utf-8",
    )
    [issue] = check(base_db, path).errors
    assert (issue.row, issue.value) == (3, 'ALIM-01;2024;"sante;Onex;3')
    assert issue.message.startswith("Un guillemet (\") ouvre sur cette ligne un texte qui n'est")
    for english in ("infer_schema_length", "You might want", "parse", "Original error"):
        assert english not in messages(check(base_db, path))


def test_a_quote_closed_lines_later_is_the_same_mistake(base_db, tmp_path):
    """The parser accepts it (one value spanning lines) and the lines between vanish."""
    path = tmp_path / "guillemet_ferme_plus_loin.csv"
    path.write_text(
        "membre;periode;theme;commune;personnes\n"
        'ALIM-01;2024;"sante;Onex;3\n'
        'ALIM-01;2024;hygiene";Onex;4\n',
        encoding="utf-8",
    )
    [issue] = check(base_db, path).errors
    assert issue.row == 2 and issue.message.startswith('Un guillemet (")')


def test_old_mac_line_endings_are_lines(fresh_db, tmp_path):
    """CR alone ends a line in a CSV saved by Excel on an old Mac: it was one header line."""
    path = tmp_path / "mac.csv"
    path.write_bytes(
        b"membre;periode;theme;commune;personnes\rALIM-01;2024;sante;Onex;3\r"
        b"ALIM-01;2024;hygiene;Carouge;4\r"
    )
    [result] = load_files([path], fresh_db)
    assert result.status == "charge", messages(result)
    assert table(fresh_db, "select theme, ofs_number, personnes from activity order by 1") == [
        ("hygiene", 6608, 4),
        ("sante", 6631, 3),
    ]


def test_excel_error_values_are_named_not_taken_for_missing_values(base_db, tmp_path):
    """#DIV/0! in a count was « Valeur manquante »: the reader gets error cells as empty."""
    path = tmp_path / "erreurs.xlsx"
    path.write_bytes(
        corpus.xlsx_bytes(
            {
                "identification": IDENTIFICATION,
                "activite": [
                    HEADER,
                    ["alimentation", "Onex", None, None, 5],
                    ["sante", None, 3, 1, 1],
                ],
            },
            formulas={
                ("activite", "C2"): ("=D2/0", "#DIV/0!"),
                ("activite", "D2"): ("=E9", "#REF!"),
                ("activite", "B3"): ('=VLOOKUP("x",A1:A2,2,0)', "#N/A"),
            },
        )
    )
    result = check(base_db, path)
    found = {(i.cell, i.value): i.message for i in result.errors}
    assert set(found) == {("C2", "#DIV/0!"), ("D2", "#REF!"), ("B3", "#N/A")}
    assert found[("C2", "#DIV/0!")] == (
        "« #DIV/0! » : la cellule contient une erreur de formule d'Excel (division par zéro), pas "
        "une valeur. Corrigez la formule, ou remplacez-la par la valeur voulue, puis renvoyez le "
        "fichier."
    )
    assert "renvoie à une cellule supprimée" in found[("D2", "#REF!")]
    assert "recherche (RECHERCHEV) qui n'a rien trouvé" in found[("B3", "#N/A")]
    assert "Valeur manquante" not in messages(result) and "inconnue" not in messages(result)


def test_excel_error_values_in_a_csv_are_named_too(base_db, tmp_path):
    """A French Excel writes its errors in French in a CSV: #VALEUR!, #N/A."""
    path = tmp_path / "erreurs.csv"
    path.write_text(
        "membre;periode;theme;commune;personnes;femmes\n"
        "ALIM-01;2024;alimentation;Onex;#VALEUR!;\n"
        "ALIM-01;2024;sante;#N/A;3;\n",
        encoding="utf-8",
    )
    result = check(base_db, path)
    assert [(i.row, i.column, i.value) for i in result.errors] == [
        (2, "personnes", "#VALEUR!"),
        (3, "commune", "#N/A"),
    ]
    assert all("erreur de formule d'Excel" in i.message for i in result.errors)


def test_a_header_on_two_rows_is_read_as_one(fresh_db, tmp_path):
    """« Thème », « Commune », « Personnes » merged over two rows, « dont » over femmes | hommes:
    the second row was read as data (« Thème « Thème » inconnu »)."""
    path = tmp_path / "deux_lignes.xlsx"
    path.write_bytes(corpus.corpus()["accepte_entete_sur_deux_lignes.xlsx"])
    [result] = load_files([path], fresh_db)
    assert result.status == "charge", messages(result)
    assert table(fresh_db, "select theme, ofs_number, personnes, femmes, hommes from activity") == [
        ("hebergement", 6628, 14, 6, 8)
    ]


def test_a_first_data_row_is_not_taken_for_a_second_header_row(base_db, tmp_path):
    path = workbook(tmp_path / "normal.xlsx", [HEADER, ["alimentation", "Onex", 12, 7, 5]])
    result = validated(path, base_db)
    assert not result.has_errors and result.activity["personnes"].to_list() == [12]


def test_two_persons_columns_are_named_with_the_missing_theme(base_db, tmp_path):
    """Was « Ligne des titres introuvable »: the repeated title was counted once."""
    path = write_xlsx(
        tmp_path / "double.xlsx",
        {"identification": IDENTIFICATION, "activite": [["commune", "personnes", "personnes"]]},
    )
    result = check(base_db, path)
    found = {issue.column: issue.message for issue in result.errors}
    assert found["personnes"].startswith("La colonne « personnes » apparaît deux fois")
    assert found["theme"].startswith("Colonne obligatoire « theme » absente")
    assert "introuvable" not in messages(result)


def test_a_header_too_far_from_the_columns_says_what_it_lacks(base_db, tmp_path):
    path = write_xlsx(
        tmp_path / "incomplet.xlsx",
        {"identification": IDENTIFICATION, "activite": [["Remarques"], ["Commune", "Personnes"]]},
    )
    [issue] = check(base_db, path).errors
    assert "Ligne des titres de colonnes introuvable" in issue.message
    assert issue.message.endswith(
        "La ligne 2 ressemble à une ligne de titres (« Commune », « Personnes ») mais il y "
        "manque : theme."
    )


@pytest.mark.parametrize(
    ("column", "written", "suggested"),
    [
        ("commune", "Carrouge", "« Carouge »"),
        ("commune", "Plan-les-Ouate", "« Plan-les-Ouates »"),
        ("commune", "Chenes-Bougerie", "« Chêne-Bougeries »"),
        ("theme", "alimentaton", "« alimentation »"),
        ("theme", "hebergment", "« hebergement »"),
        ("commune", "Atlantide", None),  # nothing close: no suggestion
    ],
)
def test_a_near_miss_gets_did_you_mean(base_db, tmp_path, column, written, suggested):
    row = {"theme": "sante", "commune": "Onex", column: written}
    path = workbook(tmp_path / "proche.xlsx", [HEADER, [row["theme"], row["commune"], 3, 1, 1]])
    result = check(base_db, path)
    [issue] = [issue for issue in result.errors if issue.column == column]
    if suggested is None:
        assert "Vouliez-vous dire" not in issue.message
    else:
        assert issue.message.endswith(f" Vouliez-vous dire {suggested} ?")


def test_a_member_code_near_miss_gets_did_you_mean(base_db, tmp_path):
    path = workbook(tmp_path / "membre.xlsx", [HEADER, ["sante", "Onex", 3, 1, 1]], member="ALIM-1")
    [issue] = check(base_db, path).errors
    assert issue.column == "membre" and issue.message.endswith(" Vouliez-vous dire « ALIM-01 » ?")


def test_a_served_commune_near_miss_gets_did_you_mean(base_db, tmp_path):
    service = ["Épicerie", "alimentation", "Onex", "Onex, Carrouge"]
    path = workbook(
        tmp_path / "service.xlsx",
        [HEADER, ["alimentation", "Onex", 3, 1, 1]],
        services=[["nom", "theme", "commune", "communes_desservies"], service],
    )
    [issue] = check(base_db, path).errors
    assert (issue.sheet, issue.value) == ("services", "Carrouge")
    assert issue.message.endswith(" Vouliez-vous dire « Carouge » ?")
