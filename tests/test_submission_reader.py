"""What a member's file may look like and still be accepted (DESIGN §4: accept what is unambiguous)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from test_submission_support import validated, write_xlsx

pytest_plugins = ["test_submission_support"]

ACTIVITY_COLUMNS = [
    "theme",
    "lieu",
    "ofs_number",
    "personnes",
    "nouvelles_personnes",
    "femmes",
    "hommes",
]


def rows_of(frame: pl.DataFrame) -> list[tuple]:
    return sorted(frame.select(ACTIVITY_COLUMNS).rows(), key=str)


def test_a_messy_workbook_is_read_as_the_member_meant_it(base_db, tmp_path):
    path = write_xlsx(
        tmp_path / "messy.xlsx",
        {
            "Identification": [
                ["Fiche d'identification"],
                [],
                ["Membre :", "  Colis du cœur  "],  # the name instead of the code, spaces around
                ["PÉRIODE", "2024-Q1"],  # Q for T
                ["Date d'envoi", dt.date(2024, 4, 10)],
            ],
            "ACTIVITÉ": [
                ["Activité 2024 — Colis du cœur", None, None, None, None, None],  # merged title
                [],
                ["COMMUNE", "Thème ", "Personnes", "Nouvelles personnes", "FEMMES", "hommes"],
                ["Carouge (GE)", "Aide alimentaire", "1'234", 100, 600, 600],
                ["Chene-Bougeries", None, "1 234", None, None, None],  # theme merged from above
                [6621, None, "1’234", None, None, None],  # OFS number
                [],
                ["Vandoeuvres ", "HYGIENE", 12.0, None, "5", None],
                ["Ville de Genève", "hygiène, laveries, douches", "2 000", None, None, None],
                ["Total", None, 5714, None, None, None],
                ["hors canton", "alimentation", 3, None, None, None],
                ["non renseignée", "Food aid", "0", None, None, None],
            ],
        },
        merges={"ACTIVITÉ": ["A1:F1", "B4:B6"]},
    )
    result = validated(path, base_db)
    assert result.issues.height == 0, result.issues
    assert result.slices.rows() == [("ALIM-01", "2024-T1")]
    assert result.date_envoi == dt.date(2024, 4, 10)
    assert result.rows_skipped == 2  # the blank row and the Total row
    assert rows_of(result.activity) == sorted(
        [
            ("alimentation", "6608", 6608, 1234, 100, 600, 600),
            ("alimentation", "6612", 6612, 1234, None, None, None),
            ("alimentation", "6621", 6621, 1234, None, None, None),
            ("hygiene", "6642", 6642, 12, None, 5, None),
            ("hygiene", "6621", 6621, 2000, None, None, None),
            ("alimentation", "hors_canton", None, 3, None, None, None),
            ("alimentation", "non_renseignee", None, 0, None, None, None),
        ],
        key=str,
    )
    assert set(result.activity["year"]) == {2024}


def test_rows_and_cells_are_numbered_as_in_excel(base_db, tmp_path):
    """A table that starts in column B below a title: row 6 in Excel is reported as row 6, cell D6."""
    path = write_xlsx(
        tmp_path / "offset.xlsx",
        {
            "identification": [[None, "membre", "ALIM-01"], [None, "periode", "2024"]],
            "activite": [
                [],
                [None, "Rapport annuel"],
                [],
                [None, "theme", "commune", "personnes"],
                [None, "alimentation", "Onex", 10],
                [None, "alimentation", "Lancy", "douze"],
            ],
        },
    )
    result = validated(path, base_db)
    [issue] = result.issue_list()
    assert (issue.sheet, issue.row, issue.column, issue.value, issue.cell) == (
        "activite",
        6,
        "personnes",
        "douze",
        "D6",
    )
    assert "n'est pas un nombre" in issue.message


def test_a_csv_export_from_excel_is_accepted(base_db, tmp_path):
    """Semicolons, Windows-1252, a title line, a blank line, a Total line, quarters written Q."""
    text = (
        "Activité du premier trimestre\n"
        "\n"
        "Membre;Période;Thème;Commune;Personnes;Femmes\n"
        'HEB-02;2024-Q1;Hébergement d\'urgence, sans-abrisme;Thônex;"1 234";600\n'
        "\n"
        "heb-02 ;2024-t1;lien_social;Grand-Saconnex;7;\n"
        "Total;;;;1241;\n"
    )
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("cp1252"))
    result = validated(path, base_db)
    assert result.issues.height == 0, result.issues
    assert result.rows_skipped == 2
    assert result.slices.rows() == [("HEB-02", "2024-T1")]
    assert sorted(result.activity.select("theme", "lieu", "personnes", "femmes").rows()) == [
        ("hebergement", "6640", 1234, 600),
        ("lien_social", "6623", 7, None),
    ]


def test_a_csv_row_is_numbered_as_its_line(base_db, tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(
        "membre,periode,theme,commune,personnes\n"
        "ALIM-01,2024,alimentation,Onex,1\n"
        "\n"
        "ALIM-01,2024,alimentation,Atlantide,2\n",
        encoding="utf-8-sig",
    )
    [issue] = validated(path, base_db).issue_list()
    assert (issue.row, issue.column, issue.value) == (4, "commune", "Atlantide")
    assert issue.cell is None  # no column letters in a CSV file


def test_periods_are_written_in_several_ways(base_db, tmp_path):
    from etl.submission.parsing import period_code_expr

    written = [
        "2024",
        "2024-T3",
        "2024-q3",
        "T3 2024",
        "2024-3",
        "03.2024",
        "2024.0",
        "2024-03-01 00:00:00",
    ]
    codes = pl.select(period_code_expr(pl.lit(pl.Series(written)))).to_series().to_list()
    assert codes == [
        "2024",
        "2024-T3",
        "2024-T3",
        "2024-T3",
        "2024-03",
        "2024-03",
        "2024",
        "2024-03",
    ]


def test_an_unknown_column_is_ignored_with_a_warning_but_a_near_miss_is_an_error(base_db, tmp_path):
    path = write_xlsx(
        tmp_path / "columns.xlsx",
        {
            "identification": [["membre", "ALIM-01"], ["periode", "2024"]],
            "activite": [
                ["theme", "commune", "personnes", "remarques", "femme"],
                ["alimentation", "Onex", 10, "RAS", 4],
            ],
        },
    )
    result = validated(path, base_db)
    issues = {issue.column: issue for issue in result.issue_list()}
    assert issues["remarques"].severity == "avertissement"
    assert "ignorée" in issues["remarques"].message
    assert issues["femme"].severity == "erreur"
    assert "Vouliez-vous dire « femmes »" in issues["femme"].message
    assert issues["femme"].row == 1 and issues["femme"].cell == "E1"


def test_the_template_example_row_is_skipped(base_db, tmp_path):
    path = write_xlsx(
        tmp_path / "example.xlsx",
        {
            "identification": [["membre", "ALIM-01"], ["periode", "2024"]],
            "activite": [
                ["theme", "commune", "personnes"],
                ["Exemple : Aide alimentaire", "Carouge", 120],
                ["alimentation", "Onex", 10],
            ],
        },
    )
    result = validated(path, base_db)
    assert result.issues.height == 0
    assert result.activity.select("lieu", "personnes").rows() == [("6631", 10)]
    assert result.rows_skipped == 1


def test_a_long_csv_in_windows_1252_after_plain_first_lines(base_db, tmp_path):
    """The first 64 KB look like UTF-8; an accent far below is Windows-1252: still read right."""
    themes = [
        "alimentation",
        "hebergement",
        "logement",
        "sante",
        "sante_mentale",
        "addictions",
        "dettes",
        "droits",
        "emploi",
        "formation",
        "migration",
        "famille",
        "jeunesse",
        "seniors",
        "handicap",
        "violences",
        "hygiene",
        "lien_social",
    ]
    communes = [
        "Onex",
        "Lancy",
        "Meyrin",
        "Vernier",
        "Carouge",
        "Bernex",
        "Versoix",
        "Satigny",
        "Veyrier",
        "Plan-les-Ouates",
    ]
    rows = ["membre;periode;theme;commune;personnes"] + [
        f"ALIM-01;2023-{m:02d};{t};{c};1" for m in range(1, 13) for t in themes for c in communes
    ]
    rows.append("ALIM-01;2023-12;Santé mentale;Chêne-Bourg;2")
    data = ("\n".join(rows) + "\n").encode("cp1252")
    assert len(data) > 64 * 1024 and b"\xe9" not in data[: 64 * 1024]
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    result = validated(path, base_db)
    assert result.issues.height == 0, result.issues
    assert result.activity.filter(pl.col("lieu") == "6613").select("theme", "personnes").rows() == [
        ("sante_mentale", 2)
    ]


def test_spaces_around_csv_values_are_ignored(base_db, tmp_path):
    path = tmp_path / "spaces.csv"
    path.write_text(
        "membre,periode,theme,commune,personnes,femmes\n"
        " ALIM-01 , 2024 , alimentation ,  Onex , 12 ,   \n"
        "   ,   ,   ,   ,   ,   \n",
        encoding="utf-8",
    )
    result = validated(path, base_db)
    assert result.issues.height == 0, result.issues
    assert result.activity.select("member_code", "lieu", "personnes", "femmes").rows() == [
        ("ALIM-01", "6631", 12, None)
    ]
    assert result.rows_skipped == 1
