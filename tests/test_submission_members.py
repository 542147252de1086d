"""The members registry: data/members.csv (real, header only at first) and the demo registry."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from test_submission_support import table

from etl.build import init_database
from etl.errors import UserError
from etl.paths import DATA_DIR
from etl.publish import next_version
from etl.submission import members
from etl.submission.members import register

pytest_plugins = ["test_submission_support"]

HEADER = "code,name,categories,themes,active_since,is_demo\n"


def write(tmp_path, text, name="registre.csv"):
    path = tmp_path / name
    path.write_text(HEADER + text, encoding="utf-8")
    return path


def test_a_registry_is_upserted_with_its_lists_and_dates(fresh_db, tmp_path):
    registry = write(
        tmp_path,
        "NEW-01,Nouvelle association,association|fondation,"
        "alimentation| logement ,2020-03-01,\nNEW-02,Autre,,,01.02.2021,false\n",
    )
    with next_version(fresh_db) as con:
        assert register(con, registry, is_demo=False) == 2
    assert table(
        fresh_db,
        """select code, name, categories, themes, active_since, is_demo
                              from members where code like 'NEW-%' order by code""",
    ) == [
        (
            "NEW-01",
            "Nouvelle association",
            ["association", "fondation"],
            ["alimentation", "logement"],
            dt.date(2020, 3, 1),
            False,
        ),
        ("NEW-02", "Autre", [], [], dt.date(2021, 2, 1), False),
    ]
    renamed = write(tmp_path, "NEW-01,Nom corrigé,association,alimentation,2020-03-01,\n", "v2.csv")
    with next_version(fresh_db) as con:
        register(con, renamed, is_demo=False)
    assert table(fresh_db, "select name from members where code = 'NEW-01'") == [("Nom corrigé",)]
    assert table(fresh_db, "select count(*) from members where code like 'NEW-%'") == [(2,)]  # kept


def test_a_wrong_registry_is_refused_whole_with_each_line_named(fresh_db, tmp_path):
    registry = write(
        tmp_path,
        "OK-01,Bonne ligne,association,alimentation,,\n"
        "MAUVAIS CODE,Espace,association,,,\n"
        "OK-01,Doublon,association,,,\n"
        "OK-03,,association,alimentaire,2020-13-45,peut-être\n",
    )
    before = table(fresh_db, "select count(*) from members")
    with pytest.raises(UserError) as error, next_version(fresh_db) as con:
        register(con, registry, is_demo=False)
    text = str(error.value)
    assert "Registre des membres" in text and "rien n'a été chargé" in text
    assert "ligne 3, colonne code (« MAUVAIS CODE ») : le code ne peut contenir que" in text
    assert "ligne 4, colonne code (« OK-01 ») : ce code apparaît sur plusieurs lignes" in text
    assert "ligne 5, colonne name" in text and "le nom est obligatoire" in text
    assert "ligne 5, colonne themes (« alimentaire ») : code de thème inconnu" in text
    assert "ligne 5, colonne active_since (« 2020-13-45 »)" in text
    assert "ligne 5, colonne is_demo (« peut-être ») : écrivez true ou false" in text
    assert table(fresh_db, "select count(*) from members") == before


def test_demo_and_real_members_do_not_mix(fresh_db, tmp_path):
    says_demo = write(tmp_path, "X-01,Fictive,association,,,true\n")
    refused = "chargé comme registre réel : la ligne dit le contraire"
    with pytest.raises(UserError, match=refused), next_version(fresh_db) as con:
        register(con, says_demo, is_demo=False)
    reuses_real_code = write(tmp_path, "ALIM-01,Copie fictive,association,,,true\n", "demo.csv")
    clash = "ALIM-01 désignent déjà un membre réel"
    with pytest.raises(UserError, match=clash), next_version(fresh_db) as con:
        register(con, reuses_real_code, is_demo=True)


def test_a_missing_column_or_file_is_one_french_sentence(fresh_db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("nom,themes\nX,alimentation\n", encoding="utf-8")
    with (
        pytest.raises(UserError, match="colonne\\(s\\) code, name absente"),
        next_version(fresh_db) as con,
    ):
        register(con, bad, is_demo=False)
    with pytest.raises(UserError, match="introuvable"), next_version(fresh_db) as con:
        register(con, tmp_path / "absent.csv", is_demo=False)


def test_the_real_registry_is_valid_data(fresh_db):
    """data/members.csv (header only until the secretariat fills it) always loads."""
    assert (DATA_DIR / "members.csv").read_text(encoding="utf-8").splitlines()[0] == HEADER.strip()
    with next_version(fresh_db) as con:
        register(con, DATA_DIR / "members.csv", is_demo=False)


def test_init_loads_the_registry_after_the_reference(tmp_path, monkeypatch):
    registry = write(tmp_path, "INIT-01,Inscrit au registre,association,sante,,\n")
    monkeypatch.setattr(members, "REGISTRY_PATH", registry)
    path = tmp_path / "init.duckdb"
    counts = init_database(path)
    assert counts["members"] == 1
    assert table(path, "select code, themes from members") == [("INIT-01", ["sante"])]


def test_a_new_member_can_submit_once_registered(fresh_db, tmp_path):
    """The documented way: one more line in the registry, `observatoire membres`, then load."""
    from typer.testing import CliRunner

    from etl.cli import app
    from etl.submission.load import validate_files

    submission = tmp_path / "nouveau.csv"
    submission.write_text(
        "membre,periode,theme,commune,personnes\nNOUV-01,2024,sante,Onex,4\n", encoding="utf-8"
    )
    assert validate_files([submission], fresh_db)[0].status == "rejete"
    registry = tmp_path / "members.csv"
    shutil.copyfile(DATA_DIR / "members.csv", registry)
    with registry.open("a", encoding="utf-8") as handle:
        handle.write("NOUV-01,Nouveau membre,association,sante,2024-01-01,false\n")
    result = CliRunner().invoke(
        app, ["membres", "--registre", str(registry), "--base", str(fresh_db)]
    )
    assert result.exit_code == 0, result.output
    assert "Registre chargé : 1 membre(s)" in result.output
    assert table(
        fresh_db, "select kind, status, rows_accepted from load_runs order by run_id desc limit 1"
    ) == [("membres", "charge", 1)]
    assert validate_files([submission], fresh_db)[0].status == "valide"
