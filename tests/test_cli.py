"""The `observatoire` command: init, reference, info; French errors without tracebacks."""

from __future__ import annotations

from typer.testing import CliRunner

from etl.cli import app

runner = CliRunner()


def test_init_then_info(tmp_path):
    path = tmp_path / "cli.duckdb"
    created = runner.invoke(app, ["init", "--base", str(path)])
    assert created.exit_code == 0, created.output
    assert "Base créée" in created.output
    info = runner.invoke(app, ["info", "--base", str(path)])
    assert info.exit_code == 0, info.output
    assert "Communes" in info.output and "45" in info.output
    assert "Derniers chargements" in info.output and "init" in info.output


def test_reference_reload_keeps_a_history(tmp_path):
    path = tmp_path / "cli.duckdb"
    runner.invoke(app, ["init", "--base", str(path)])
    reloaded = runner.invoke(app, ["reference", "--base", str(path)])
    assert reloaded.exit_code == 0, reloaded.output
    info = runner.invoke(app, ["info", "--base", str(path)])
    assert "reference" in info.output


def test_info_on_a_missing_database_is_one_french_sentence(tmp_path):
    result = runner.invoke(app, ["info", "--base", str(tmp_path / "absent.duckdb")])
    assert result.exit_code == 1
    assert "n'existe pas" in result.output and "observatoire init" in result.output
    assert "Traceback" not in result.output


def test_init_never_replaces_an_existing_database_by_accident(tmp_path):
    path = tmp_path / "cli.duckdb"
    runner.invoke(app, ["init", "--base", str(path)])
    before = path.read_bytes()
    again = runner.invoke(app, ["init", "--base", str(path)])
    assert again.exit_code == 1
    message = " ".join(again.output.split())  # rich wraps long lines
    assert "existe déjà" in message and "--remplacer" in message
    assert path.read_bytes() == before
    replaced = runner.invoke(app, ["init", "--base", str(path), "--remplacer"])
    assert replaced.exit_code == 0, replaced.output
