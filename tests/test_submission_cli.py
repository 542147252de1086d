"""The secretariat's commands, used as a new user would: template → fill → valider → fix → charger."""

from __future__ import annotations

import openpyxl
from test_submission_support import table
from typer.testing import CliRunner

from etl.cli import app

pytest_plugins = ["test_submission_support"]

runner = CliRunner()


class Output:
    """A command's exit code and its text, French non-breaking spaces read as spaces."""

    def __init__(self, result) -> None:
        self.exit_code = result.exit_code
        self.output = result.output.replace("\u00a0", " ")


def invoke(*args: str) -> Output:
    return Output(runner.invoke(app, list(args), env={"COLUMNS": "160"}))


def fill(path, rows: list[dict]) -> None:
    """Type rows into the template's activity sheet below the example, as a member would."""
    book = openpyxl.load_workbook(path)
    sheet = book["activite"]
    headers = [cell.value for cell in sheet[3]]
    for offset, values in enumerate(rows):
        for name, value in values.items():
            sheet.cell(row=5 + offset, column=headers.index(name) + 1, value=value)
    book.save(path)


def test_template_valider_fix_charger_info(fresh_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = str(fresh_db)
    made = invoke("template", "--membre", "HEB-02", "--periode", "2024-T2", "--base", base)
    assert made.exit_code == 0, made.output
    template = tmp_path / "soumission_HEB-02_2024-T2.xlsx"
    assert template.exists() and "Le Caré" in made.output

    fill(
        template,
        [
            {
                "theme": "Hébergement d'urgence, sans-abrisme",
                "commune": "Meyrin",
                "personnes": 40,
                "femmes": 45,
            },
            {"theme": "lien_social", "commune": "Vernier", "personnes": "trente"},
        ],
    )
    checked = invoke("valider", str(template), "--base", base)
    assert checked.exit_code == 1
    assert "refusé" in checked.output
    assert "45 femmes pour 40 personnes servies" in checked.output
    assert "« trente » n'est pas un nombre" in checked.output
    report = tmp_path / "rapport_soumission_HEB-02_2024-T2.html"  # the default name
    html = report.read_text(encoding="utf-8").replace("\u00a0", " ")
    assert "<table>" in html and "Valeur trouvée" in html and "trente" in html
    assert "(F5)" in html and "(C6)" in html  # the cells to correct
    assert table(fresh_db, "select count(*) from load_runs where kind = 'soumission'") == [(0,)]

    fill(template, [{"femmes": 25}, {"personnes": 30}])
    loaded = invoke(
        "charger", str(template), "--base", base, "--rapport", str(tmp_path / "ok.html")
    )
    assert loaded.exit_code == 0, loaded.output
    assert "chargé" in loaded.output and "2 ligne(s) valide(s)" in loaded.output
    assert "Tous les fichiers sont valides" in (tmp_path / "ok.html").read_text(encoding="utf-8")
    assert table(
        fresh_db,
        """select theme, lieu, personnes, femmes from activity
                              where member_code = 'HEB-02' order by theme""",
    ) == [("hebergement", "6630", 40, 25), ("lien_social", "6643", 30, None)]

    again = invoke(
        "charger", str(template), "--base", base, "--rapport", str(tmp_path / "again.html")
    )
    assert again.exit_code == 0 and "déjà chargé" in again.output
    info = invoke("info", "--base", base)
    assert info.exit_code == 0
    assert "soumission" in info.output and "deja_charge" in info.output


def test_dry_run_and_several_files(fresh_db, tmp_path):
    good = tmp_path / "bon.csv"
    good.write_text(
        "membre;periode;theme;commune;personnes\nSANTE-03;2024;sante;Onex;5\n", encoding="utf-8"
    )
    bad = tmp_path / "faux.csv"
    bad.write_text(
        "membre;periode;theme;commune;personnes\nSANTE-03;2024;sante;Mars;5\n", encoding="utf-8"
    )
    report = tmp_path / "simulation.html"
    result = invoke(
        "charger",
        str(good),
        str(bad),
        "--dry-run",
        "--base",
        str(fresh_db),
        "--rapport",
        str(report),
    )
    assert result.exit_code == 1  # one file would be refused
    assert "serait chargé (simulation)" in result.output
    assert "Commune « Mars » inconnue" in result.output
    assert "2 fichier(s), 1 refusé(s)" in report.read_text(encoding="utf-8")
    assert table(fresh_db, "select count(*) from activity") == [(0,)]


def test_user_mistakes_are_one_french_sentence(fresh_db, tmp_path):
    unknown = invoke(
        "template", "--membre", "PERSONNE", "--periode", "2024", "--base", str(fresh_db)
    )
    assert unknown.exit_code == 1 and "Membre « PERSONNE » inconnu du registre" in unknown.output
    bad_period = invoke(
        "template", "--membre", "ALIM-01", "--periode", "2024-13", "--base", str(fresh_db)
    )
    assert bad_period.exit_code == 1 and "Période « 2024-13 » inconnue" in bad_period.output
    missing = invoke("valider", str(tmp_path / "absent.xlsx"), "--base", str(fresh_db))
    assert missing.exit_code == 1 and "introuvable" in missing.output
    no_db = invoke("charger", str(tmp_path / "x.csv"), "--base", str(tmp_path / "none.duckdb"))
    assert no_db.exit_code == 1 and "Traceback" not in no_db.output


def test_the_template_guides_the_member(fresh_db, tmp_path):
    path = tmp_path / "modele.xlsx"
    assert (
        invoke(
            "template",
            "--membre",
            "ALIM-01",
            "--periode",
            "2024",
            "-o",
            str(path),
            "--base",
            str(fresh_db),
        ).exit_code
        == 0
    )
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:5] == [
        "instructions",
        "identification",
        "activite",
        "services",
        "observations",
    ]
    assert book["listes"].sheet_state == "hidden"
    identification = book["identification"]
    assert (identification["A3"].value, identification["B3"].value) == ("membre", "ALIM-01")
    assert (identification["A4"].value, identification["B4"].value) == ("periode", "2024")
    activity = book["activite"]
    headers = [cell.value for cell in activity[3]]
    assert headers[:3] == ["theme", "commune", "personnes"]
    assert "membre" not in headers  # given once, on the identification sheet
    assert "Nombre de personnes différentes" in activity["C3"].comment.text
    assert activity["A4"].value.startswith("Exemple")
    validations = {str(v.sqref).split(":")[0]: v for v in activity.data_validations.dataValidation}
    assert validations["A5"].type == "list" and "listes" in validations["A5"].formula1
    assert validations["C5"].type == "whole" and validations["C5"].operator == "greaterThanOrEqual"
    communes = [row[1].value for row in book["listes"].iter_rows(min_row=2) if row[1].value]
    assert len(communes) == 47 and communes[-2:] == ["hors canton", "non renseignée"]
    observation_validations = [v.type for v in book["observations"].data_validations.dataValidation]
    assert "date" in observation_validations and "textLength" in observation_validations


def test_a_folder_stands_for_its_files(fresh_db, tmp_path):
    folder = tmp_path / "recu"
    folder.mkdir()
    (folder / "a.csv").write_text(
        "membre,periode,theme,commune,personnes\nALIM-01,2024-q3,alimentation,Onex,2\n",
        encoding="utf-8",
    )
    (folder / "~$verrou.xlsx").write_bytes(b"Excel lock file")
    (folder / "notes.txt").write_text("pas une soumission", encoding="utf-8")
    result = invoke(
        "valider", str(folder), "--base", str(fresh_db), "--rapport", str(tmp_path / "r.html")
    )
    assert result.exit_code == 0, result.output
    assert "a.csv" in result.output and "verrou" not in result.output
    made = invoke(
        "template",
        "--membre",
        "Colis du cœur",
        "--periode",
        "2024-q3",
        "-o",
        str(tmp_path / "m.xlsx"),
        "--base",
        str(fresh_db),
    )
    assert made.exit_code == 0 and "période 2024-T3" in made.output
