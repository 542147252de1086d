"""The command line in front of hostile files and a hostile machine (issue #14, items 6, 7 and 10).

- a member's file cannot act on the secretariat's terminal (escape sequences, bidi overrides) nor on
  the HTML report or the Administration page;
- a full disk, a report or an export that cannot be written end in one French sentence and an exit
  code that says what happened: 1 nothing (more) was done, 3 the load is done but its report is not
  written (docs/ADMIN.md, « Codes de sortie »);
- `observatoire charger` refuses a file over its size cap (10 MB, as the Administration page).

The full disk is simulated in two ways: a real one (a small tmpfs mounted in a private mount
namespace with `unshare`, where the machine allows it) and, everywhere, DuckDB's own exceptions
raised where the disk fills (monkeypatched).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from test_reliability_support import APP, CORPUS_DIR, data_tables, load_runs
from test_submission_support import table
from typer.testing import CliRunner

from dashboard import auth
from dashboard.components import upload
from etl import db as etl_db
from etl.cli import app as cli_app
from etl.errors import UserError
from etl.public import public_path
from etl.submission import load as load_module
from etl.submission import report
from etl.submission.load import load_files, validate_files

pytest_plugins = ["test_reliability_support"]

HOSTILE = CORPUS_DIR / "caracteres_de_controle.csv"  # commune « On ESC[2J ESC[H ex RLO »
CONTROLS = ["\x1b", "\u202e", "\x00", "\r"]
VALID_CSV = "membre;periode;theme;commune;personnes\nALIM-01;2024-T1;sante;Onex;3\n"
NOT_ENGLISH = ("Traceback", "Error:", "Exception", "No space left", "Permission denied")


@pytest.fixture(autouse=True)
def in_a_private_folder(tmp_path, monkeypatch):
    """Reports written by default land in the current folder: never the repository's."""
    monkeypatch.chdir(tmp_path)


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli_app, list(args), env=env)


def valid_file(folder: Path, name: str = "valide.csv") -> Path:
    path = folder / name
    path.write_text(VALID_CSV, encoding="utf-8")
    return path


def both_files_of(db_path: Path) -> list[bytes]:
    return [db_path.read_bytes(), public_path(db_path).read_bytes()]


# --- 6. control characters from a member's file -----------------------------------------------------


def test_escape_sequences_in_a_file_are_shown_not_run_on_the_terminal(published_db, tmp_path):
    result = run("valider", str(HOSTILE), "--base", str(published_db), "--rapport", str(tmp_path))
    assert result.exit_code == 1
    for control in CONTROLS:
        assert control not in result.output
    assert "On\\x1b[2J\\x1b[Hex \\u202e" in result.output.replace("\n", "")


def test_a_line_break_in_a_file_name_cannot_fake_a_loaded_line(published_db, tmp_path):
    """A file named « x.csv⏎autre.csv — chargé » printed a line of its own saying « chargé »."""
    path = tmp_path / "x.csv\nautre.csv — chargé (membre ALIM-01)\r.csv"
    path.write_text("membre;periode;theme;commune;personnes\nALIM-01;2024;sante;Atlantide;3\n")
    report_path = str(tmp_path / "r.html")  # a short path: rich wraps nothing on this line
    result = run("valider", str(path), "--base", str(published_db), "--rapport", report_path)
    assert result.exit_code == 1
    assert not [line for line in result.output.splitlines() if line.startswith("autre.csv")]
    assert "x.csv\\x0aautre.csv — chargé" in result.output.replace("\n", "")


def test_the_html_report_shows_control_characters_as_codes(published_base):
    [result] = validate_files([HOSTILE], published_base)
    page = report.render_html([result])
    for control in CONTROLS:
        assert control not in page
    assert "On\\x1b[2J\\x1b[Hex \\u202e" in page


def test_the_administration_page_shows_control_characters_as_codes(published_db, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_DB", str(published_db))
    monkeypatch.setenv(
        auth.HASH_ENV_VAR, auth.hash_password("mot de passe de test", iterations=1000)
    )
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("views/administration.py").run()
    at.text_input(key="admin_user_name").set_value("Test")
    at.text_input(key="admin_password").set_value("mot de passe de test")
    at.get("form_submit_button")[0].click().run()
    at.file_uploader(key="admin_file").set_value(("hostile.csv", HOSTILE.read_bytes(), "x")).run()
    assert not at.exception, [e.value for e in at.exception]
    issues = next(df.value for df in at.table if "Problème et correction" in df.value.columns)
    shown = " ".join(str(value) for value in issues.to_numpy().ravel())
    assert "On\\x1b[2J\\x1b[Hex \\u202e" in shown
    for control in CONTROLS:
        assert control not in shown


def test_texts_shown_in_admin_tables_keep_their_line_breaks_only_where_asked():
    import polars as pl

    from dashboard.components import tables

    frame = pl.DataFrame({"texte": ["ligne 1\nligne 2\x1b[2J"], "fichier": ["a\nb\u202e.csv"]})
    shown = tables.printable_texts(frame, keep_lines=("texte",)).row(0)
    assert shown == ("ligne 1\nligne 2\\x1b[2J", "a\\x0ab\\u202e.csv")


# --- 7. full disk, report and export that cannot be written -------------------------------------------

FULL = 'IO Error: Could not write file "/x/.obs-next-obs.duckdb.wal": No space left on device'


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("_write", duckdb.IOException(FULL)),
        (
            "_write",
            duckdb.TransactionException(f"TransactionContext Error: Failed to commit: {FULL}"),
        ),
        ("refresh_derived", duckdb.TransactionException(f"Failed to commit: {FULL}")),
        ("refresh_derived", duckdb.FatalException(f"FATAL Error: database invalidated: {FULL}")),
    ],
)
def test_a_full_disk_during_a_load_is_one_french_sentence_and_loads_nothing(
    published_db, tmp_path, monkeypatch, where, error
):
    """Where the disk fills, DuckDB raises these (seen on a real full disk: the WAL at commit,
    the aggregates' rebuild, the checkpoint). Simulated by raising them there."""
    before, runs = both_files_of(published_db), load_runs(published_db)

    def full(*_args, **_kwargs):
        raise error

    owner = load_module if where == "_write" else etl_db
    monkeypatch.setattr(owner, where, full)
    path = valid_file(tmp_path)
    with pytest.raises(UserError, match="le disque du dossier .* est plein. Rien n'a été chargé"):
        load_files([path], published_db)
    result = run("charger", str(path), "--base", str(published_db), "--rapport", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "est plein. Rien n'a été chargé et la base publiée est restée" in " ".join(
        result.output.split()
    )
    assert not any(word in result.output for word in NOT_ENGLISH), result.output
    assert both_files_of(published_db) == before and load_runs(published_db) == runs
    assert not [p for p in published_db.parent.iterdir() if p.name.startswith(".obs-next-")]


UNSHARE = shutil.which("unshare")
OBSERVATOIRE = Path(sys.executable).parent / "observatoire"  # the installed command
MOUNT_SCRIPT = """
set -e
mount -t tmpfs -o size="$SIZE" tmpfs "$DISK"
cp "$DB" "$PUBLIC" "$DISK/"
set +e
"$OBSERVATOIRE" charger "$FILE" --base "$DISK/obs.duckdb" --rapport "$REPORT" --taille-max 0 \
    > "$OUT" 2>&1
echo $? > "$CODE"
sha256sum "$DISK/obs.duckdb" "$DISK/obs_public.duckdb" > "$SUMS"
ls -a "$DISK" > "$LISTING"
"""


def can_mount_in_private_namespace() -> bool:
    if UNSHARE is None or sys.platform != "linux":
        return False
    probe = subprocess.run(
        [UNSHARE, "-m", "-r", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not can_mount_in_private_namespace(), reason="no private mount namespace")
def test_a_real_full_disk_during_a_load(published_db, tmp_path):
    """A tmpfs with room for the copy of the database and little more: the load fills it."""
    disk = tmp_path / "disque"
    disk.mkdir()
    rows = "".join(
        f"ALIM-01;2024-{month:02d};{theme};{commune};{n}\n"
        for month in range(1, 13)
        for theme in ("alimentation", "sante", "hygiene", "logement")
        for n, commune in enumerate(("Onex", "Carouge", "Lancy", "Vernier", "Meyrin"))
    )
    big = tmp_path / "mensuel.csv"
    big.write_text("membre;periode;theme;commune;personnes\n" + rows, encoding="utf-8")
    raw, public = published_db.stat().st_size, public_path(published_db).stat().st_size
    size = raw + public + raw + 256 * 1024  # the published files, their copy, and a little
    outputs = {name: tmp_path / name for name in ("out", "code", "sums", "listing")}
    env = {
        **os.environ,
        "SIZE": str(size),
        "DISK": str(disk),
        "DB": str(published_db),
        "PUBLIC": str(public_path(published_db)),
        "OBSERVATOIRE": str(OBSERVATOIRE),
        "FILE": str(big),
        "REPORT": str(tmp_path / "rapport.html"),
        **{name.upper(): str(path) for name, path in outputs.items()},
    }
    subprocess.run(
        [UNSHARE, "-m", "-r", "sh", "-c", MOUNT_SCRIPT],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        timeout=240,
    )
    output = " ".join(outputs["out"].read_text(encoding="utf-8").split())
    assert outputs["code"].read_text().strip() == "1", output
    assert "est plein. Rien n'a été chargé" in output, output
    assert not any(word in output for word in NOT_ENGLISH), output
    published = subprocess.run(
        ["sha256sum", str(published_db), str(public_path(published_db))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[::2]
    assert outputs["sums"].read_text().split()[::2] == published  # unchanged on the full disk
    assert not [n for n in outputs["listing"].read_text().split() if n.startswith(".obs-next-")]
    print(
        f"\nFIGURE | disque plein réel : tmpfs de {size / 1024 / 1024:.1f} Mo, chargement de "
        f"{rows.count(chr(10))} lignes refusé en français (code 1), base et fichier public "
        "identiques octet pour octet, aucune copie temporaire laissée"
    )


def test_a_report_folder_gets_the_report_inside(published_db, tmp_path):
    folder = tmp_path / "rapports"
    folder.mkdir()
    path = valid_file(tmp_path)
    result = run("charger", str(path), "--base", str(published_db), "--rapport", str(folder))
    assert result.exit_code == 0, result.output
    assert [p.name for p in folder.iterdir()] == ["rapport_valide.html"]


def test_a_report_that_cannot_be_written_is_refused_before_anything_is_loaded(
    published_db, tmp_path
):
    """The report's folder is a file here (a path no one can write under, even root)."""
    blocker = tmp_path / "pas_un_dossier"
    blocker.write_text("x")
    before = both_files_of(published_db)
    path = valid_file(tmp_path)
    result = run(
        "charger", str(path), "--base", str(published_db), "--rapport", f"{blocker}/r.html"
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "Le rapport ne pourrait pas être écrit" in text and "Rien n'a été chargé" in text
    assert both_files_of(published_db) == before


@pytest.mark.skipif(not can_mount_in_private_namespace(), reason="no private mount namespace")
def test_a_read_only_report_folder_is_refused_before_loading(published_db, tmp_path):
    folder = tmp_path / "lecture_seule"
    folder.mkdir()
    path = valid_file(tmp_path)
    script = (
        f'mount -t tmpfs -o ro tmpfs "{folder}" && "{OBSERVATOIRE}" charger "{path}" '
        f'--base "{published_db}" --rapport "{folder}/r.html"'
    )
    before = both_files_of(published_db)
    done = subprocess.run(
        [UNSHARE, "-m", "-r", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=240,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join((done.stdout + done.stderr).split())
    assert f"le dossier {folder} est en lecture seule" in text and "Rien n'a été chargé" in text
    assert both_files_of(published_db) == before


def test_loaded_but_report_not_written_exits_3_and_says_so(published_db, tmp_path, monkeypatch):
    """The disk fills between the load and the report (simulated): the load stands."""

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "write_html", full)
    path = valid_file(tmp_path)
    result = run("charger", str(path), "--base", str(published_db), "--rapport", str(tmp_path))
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert "Le rapport n'a pas pu être écrit" in text and "(le disque est plein)" in text
    assert "sont bien chargés et publiés : ne les rechargez pas" in text
    assert "Traceback" not in result.output
    assert table(published_db, "select count(*) from activity where period_code = '2024-T1'") == [
        (1,)
    ]


def test_validated_but_report_not_written_exits_3(published_db, tmp_path, monkeypatch):
    def failing_disk(*_args, **_kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(report, "write_html", failing_disk)
    result = run("valider", str(valid_file(tmp_path)), "--base", str(published_db))
    assert result.exit_code == 3, result.output
    assert "Les résultats affichés ci-dessus sont complets" in " ".join(result.output.split())


def test_an_export_into_a_folder_that_cannot_be_written_is_one_sentence(demo_db, tmp_path):
    blocker = tmp_path / "fichier"
    blocker.write_text("x")
    result = run("exporter", "--base", str(demo_db), "--sortie", f"{blocker}/exports/")
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "L'export n'a pas pu être écrit dans" in text
    assert "(un élément du chemin est un fichier, pas un dossier)" in text
    assert "Traceback" not in result.output


# --- 10. size cap -----------------------------------------------------------------------------------


def big_csv(path: Path, megabytes: float) -> Path:
    """A CSV of about `megabytes` MB (valid lines: only the cap can refuse it)."""
    line = "ALIM-01;2024;sante;Onex;3\n"
    count = int(megabytes * 1024 * 1024 / len(line)) + 1
    path.write_text("membre;periode;theme;commune;personnes\n" + line * count, encoding="utf-8")
    return path


def test_the_command_refuses_a_file_over_the_cap_without_reading_it(published_db, tmp_path):
    path = big_csv(tmp_path / "gros.csv", 10.5)
    size = f"{path.stat().st_size / 1024 / 1024:.1f}".replace(".", ",")
    assert getattr(load_module, "DEFAULT_MAX_FILE_MB", None) == upload.MAX_UPLOAD_MB == 10
    before = data_tables(published_db)
    target = tmp_path / "rapport.html"
    result = run("charger", str(path), "--base", str(published_db), "--rapport", str(target))
    assert result.exit_code == 1
    page = target.read_text().replace("\u00a0", " ")  # French spacing in the report
    assert f"Le fichier pèse {size} Mo : la limite est de 10,0 Mo." in page
    assert "observatoire charger --taille-max" in page
    assert data_tables(published_db) == before  # refused: only load_runs grows
    assert load_runs(published_db)[-1][2:4] == ("gros.csv", "rejete")


def refused_for_size(path: Path, db_path: Path, *options: str, env: dict | None = None) -> bool:
    target = path.with_suffix(".html")
    result = run(
        "valider", str(path), "--base", str(db_path), "--rapport", str(target), *options, env=env
    )
    assert result.exit_code in (0, 1), result.output
    return "la limite est de" in target.read_text()


def test_the_cap_can_be_raised_by_option_or_environment(published_db, tmp_path):
    path = big_csv(tmp_path / "gros.csv", 10.5)
    assert refused_for_size(path, published_db)
    assert not refused_for_size(path, published_db, "--taille-max", "11")
    assert not refused_for_size(path, published_db, env={"OBSERVATOIRE_TAILLE_MAX_MO": "0"})
    small = big_csv(tmp_path / "moyen.csv", 3)
    assert not refused_for_size(small, published_db)
    assert refused_for_size(small, published_db, env={"OBSERVATOIRE_TAILLE_MAX_MO": "2,5"})
    assert "la limite est de 2,5 Mo" in small.with_suffix(".html").read_text()


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        (["--taille-max", "-1"], None, "indiquez une taille en Mo ≥ 0"),
        ([], {"OBSERVATOIRE_TAILLE_MAX_MO": "dix"}, "OBSERVATOIRE_TAILLE_MAX_MO=« dix »"),
    ],
)
def test_a_wrong_cap_is_one_french_sentence(published_db, tmp_path, options, env, message):
    path = valid_file(tmp_path)
    result = run("valider", str(path), "--base", str(published_db), *options, env=env)
    assert result.exit_code == 1 and message in " ".join(result.output.split())
