"""A corpus of bad files (tests/data/bad_inputs/, plus big and hostile ones made at test time): each
gets a clear French answer naming file, sheet, row, column and value where there is one, and the
database keeps its data; what is accepted is read right, and its texts come out harmless."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from test_reliability_support import (
    APP,
    CORPUS_DIR,
    corpus_module,
    data_tables,
    load_runs,
)
from test_submission_support import table
from typer.testing import CliRunner

from dashboard import auth, data
from dashboard.components import directory as directory_component
from dashboard.components import upload
from dashboard.components.directory import md_escape
from etl import hsds
from etl.cli import app as cli_app
from etl.errors import UserError
from etl.public import public_path
from etl.submission import report
from etl.submission.load import load_files, validate_files
from etl.submission.results import ERROR

pytest_plugins = ["test_reliability_support"]

corpus = corpus_module()
FILE_LEVEL = "—"  # the sheet of a problem that concerns the whole file


@dataclass(frozen=True)
class Expected:
    """The error a file must get: a fragment of its message and where it points."""

    message: str
    sheet: str = FILE_LEVEL
    row: int | None = None
    column: str | None = None
    value: str | None = None
    cell: str | None = None


UNREADABLE = "n'est pas un classeur Excel lisible (.xlsx)"
NOT_SUPPORTED = "Format de fichier non pris en charge"
EMPTY = "Le fichier est vide (0 octet)"
NO_ROWS = "Le fichier ne contient aucune ligne de données"
NO_HEADER = "Ligne des titres de colonnes introuvable"
TOO_FAR = "s'étend jusqu'à la cellule XFD1048576"

BROKEN_OR_DISGUISED = {
    "tronque.xlsx": Expected(UNREADABLE),
    "octets_corrompus.xlsx": Expected("Le fichier est endommagé : la partie « xl/"),
    "page_web.xls": Expected(f"{NOT_SUPPORTED} (.xls)"),
    "page_web.xlsx": Expected(UNREADABLE),
    "archive_sans_classeur.xlsx": Expected(UNREADABLE),
    "protege_ou_ancien.xlsx": Expected("classeur protégé par un mot de passe"),
    "vide.xlsx": Expected(EMPTY),
    "vide.csv": Expected(EMPTY),
    "sans_extension": Expected(f"{NOT_SUPPORTED} (sans extension)"),
    "tableur_libreoffice.ods": Expected(f"{NOT_SUPPORTED} (.ods)"),
    "octets_aleatoires.csv": Expected(NO_HEADER, "activite"),
}
SHEETS_AND_COLUMNS = {
    "sans_feuille_activite.xlsx": Expected(
        "Feuille « activite » introuvable (feuilles du fichier : « identification », « Feuil1 »)"
    ),
    "deux_feuilles_activite.xlsx": Expected(
        "Deux feuilles correspondent à « activite » : « activite » et « Activités »", "Activités"
    ),
    "sans_identification.xlsx": Expected(
        "Indiquez le code du membre sur la feuille identification", "identification", None, "membre"
    ),
    "zero_ligne.xlsx": Expected(NO_ROWS),
    "colonnes_en_double.xlsx": Expected(
        "La colonne « personnes » apparaît deux fois",
        "activite",
        1,
        "personnes",
        "personnes",
        "F1",
    ),
    "formules_sans_resultat.xlsx": Expected(
        "La cellule C2 contient une formule (=D2+E2) dont le résultat n'est pas enregistré",
        "activite",
        2,
        None,
        "=D2+E2",
        "C2",
    ),
    "noms_de_feuilles_hostiles.xlsx": Expected(
        "« beaucoup » n'est pas un nombre", "activite", 2, "personnes", "beaucoup", "C2"
    ),
}
VALUES = {
    "nombre_enorme.xlsx": Expected(
        "« 3000000000 » : nombre trop grand (au plus 2'147'483'647)",
        "activite",
        2,
        "personnes",
        "3000000000",
        "C2",
    ),
    "nombre_negatif.xlsx": Expected(
        "« -12 » : un nombre négatif n'est pas possible", "activite", 2, "personnes", "-12", "C2"
    ),
    "injection_sql.xlsx": Expected(
        "Commune « '; drop table activity; -- » inconnue",
        "activite",
        2,
        "commune",
        "'; drop table activity; --",
        "B2",
    ),
    "script_membre.xlsx": Expected(
        "Membre « <script>alert(1)</script> » inconnu du registre",
        "identification",
        1,
        "membre",
        "<script>alert(1)</script>",
        "B1",
    ),
    "hyperlien_commune.xlsx": Expected(
        'Commune « =HYPERLINK("http://example.com","Onex") » inconnue',
        "activite",
        2,
        "commune",
        '=HYPERLINK("http://example.com","Onex")',
        "B2",
    ),
    "periode_future.xlsx": Expected(
        "Période « 2099 » non reconnue", "identification", 2, "periode", "2099", "B2"
    ),
    "observation_future.xlsx": Expected(
        "La date 31.12.2099 est dans le futur", "observations", 2, "date", "31.12.2099", "A2"
    ),
    "texte_trop_long.xlsx": Expected(
        "Le texte compte 2001 caractères ; 2000 au plus", "observations", 2, "texte", cell="E2"
    ),
}
# Archives that would make the Excel reader exhaust memory and abort the whole process.
MEMORY_BOMBS = {
    "cellule_lointaine.xlsx": Expected(TOO_FAR),
    "ligne_lointaine_sans_position.xlsx": Expected(TOO_FAR),
    "attribut_position_double.xlsx": Expected(
        "Le fichier est endommagé : la partie « xl/worksheets/sheet2.xml »"
    ),
    "textes_partages_annonces.xlsx": Expected(
        "il annonce 2\u202f000\u202f000\u202f000 textes partagés"
    ),
    "fusions_geantes.xlsx": Expected("« activite » contient des cellules fusionnées couvrant"),
    "entites_xml.xlsx": Expected("déclare un type de document XML"),
}
CSV_FILES = {
    "csv_entete_seul.csv": Expected(NO_ROWS),
    "csv_colonnes_en_double.csv": Expected(
        "La colonne « personnes » apparaît deux fois", "activite", 1, "personnes", "personnes"
    ),
    "csv_octet_nul.csv": Expected(
        "Commune « On\x00ex » inconnue", "activite", 2, "commune", "On\x00ex"
    ),
    "csv_formule.csv": Expected("« =1+1 » n'est pas un nombre", "activite", 2, "personnes", "=1+1"),
    "csv_lignes_courtes.csv": Expected("Commune manquante", "activite", 2, "commune"),
}
# Found by the adversarial review (issue #14): each loaded wrong figures or got a misleading message.
HIDDEN_ROW = "Ligne masquée (ou cachée par un filtre) qui contient des données"
REVIEW = {
    "csv_valeurs_en_trop.csv": Expected(
        "Cette ligne a 7 valeurs, alors que la ligne des titres en annonce 6",
        "activite",
        3,
        value="ALIM-01,2024,alimentation,Onex,1,234,50",
    ),
    "feuille_masquee.xlsx": Expected(
        "La feuille « activite » est masquée et contient des données", "activite"
    ),
    "lignes_masquees.xlsx": Expected(HIDDEN_ROW, "activite", 3),
    "colonne_masquee.xlsx": Expected(
        "La colonne « femmes » (D) est masquée et contient des données",
        "activite",
        1,
        "femmes",
        cell="D1",
    ),
    "periode_ambigue.csv": Expected(
        "Période « 2024-2 » ambiguë : mois (2024-02) ou trimestre (2024-T2) ?",
        "activite",
        2,
        "periode",
        "2024-2",
    ),
    "periode_ambigue.xlsx": Expected(
        "Période « 2024/2 » ambiguë", "identification", 2, "periode", "2024/2", "B2"
    ),
    "caracteres_de_controle.csv": Expected(
        "Commune « On\x1b[2J\x1b[Hex \u202e » inconnue", "activite", 2, "commune"
    ),
    "csv_guillemet_non_ferme.csv": Expected(
        "Un guillemet (\") ouvre sur cette ligne un texte qui n'est jamais refermé",
        "activite",
        2,
        value='ALIM-01;2024;"alimentation;Onex;12',
    ),
    "erreur_excel.xlsx": Expected(
        "« #DIV/0! » : la cellule contient une erreur de formule d'Excel (division par zéro)",
        "activite",
        2,
        "personnes",
        "#DIV/0!",
        "C2",
    ),
    "commune_mal_ecrite.xlsx": Expected(
        "Commune « Carrouge » inconnue. Choisissez l'une des 45 communes genevoises dans la liste "
        "(le numéro OFS, par exemple 6608, est aussi accepté), ou « hors canton », ou « non "
        "renseignée ». Vouliez-vous dire « Carouge » ?",
        "activite",
        2,
        "commune",
        "Carrouge",
        "B2",
    ),
    "personnes_deux_fois_sans_theme.xlsx": Expected(
        "La colonne « personnes » apparaît deux fois", "activite", 1, "personnes", cell="C1"
    ),
}
CATEGORIES = {
    "fichiers abîmés ou déguisés": BROKEN_OR_DISGUISED,
    "feuilles et colonnes": SHEETS_AND_COLUMNS,
    "valeurs (injection, balises, nombres, dates)": VALUES,
    "bombes mémoire (xlsx)": MEMORY_BOMBS,
    "CSV": CSV_FILES,
    "revue adverse (valeurs en trop, masqué, période ambiguë, messages trompeurs)": REVIEW,
}
REFUSED = {name: expected for group in CATEGORIES.values() for name, expected in group.items()}

# Accepted, with what must be loaded: (member, period, theme, OFS number, persons) by hand.
ACCEPTED = {
    # Decision: a CSV that is not UTF-8 is read as Windows-1252 (what Excel writes), a superset of
    # Latin-1 for letters, so a Latin-1 file loads with its accents right.
    "accepte_latin1.csv": [
        ("ALIM-01", "2024-T1", "alimentation", 6612, 15),  # Chêne-Bougeries
        ("ALIM-01", "2024-T1", "sante", 6640, 9),  # Thônex
    ],
    "accepte_bom.csv": [("ALIM-01", "2024-T2", "alimentation", 6621, 21)],  # Genève
    # A formula with its stored result (what Excel shows) is read as that result: 99, not D2+E2.
    "accepte_formule_avec_resultat.xlsx": [("ALIM-01", "2024-T3", "alimentation", 6631, 99)],
    "accepte_textes_hostiles.xlsx": [("ALIM-01", "2024-T4", "alimentation", 6631, 30)],
    "accepte_utf16.csv": [("HEB-02", "2024", "hebergement", 6631, 12)],
    "accepte_emoji_commune.xlsx": [("SANTE-03", "2024", "sante", 6631, 12)],  # « Onex 🏠 »
    # Lines ended by CR alone (Excel on an old Mac): read as lines, not as one header line.
    "accepte_fins_de_ligne_mac.csv": [("SANTE-03", "2023", "sante", 6608, 8)],  # Carouge
    # Titles on two rows (« dont » merged over femmes | hommes): the second row is not data.
    "accepte_entete_sur_deux_lignes.xlsx": [("HEB-02", "2023", "hebergement", 6628, 14)],  # Lancy
}


def corpus_path(name: str) -> Path:
    return CORPUS_DIR / name


def first_error(result, expected: Expected):
    """The error carrying the expected message (there may be others after it)."""
    matching = [issue for issue in result.errors if expected.message in issue.message]
    assert matching, [issue.message for issue in result.issues]
    return matching[0]


@pytest.fixture(scope="module")
def validated(published_base) -> dict[str, object]:
    """Every corpus file validated once (nothing is written)."""
    names = [*REFUSED, *ACCEPTED]
    results = validate_files([corpus_path(name) for name in names], published_base)
    return dict(zip(names, results, strict=True))


# --- the corpus ---------------------------------------------------------------------------------------


def test_the_corpus_is_what_the_generator_writes():
    on_disk = {
        path.name for path in CORPUS_DIR.iterdir() if path.suffix != ".py" and path.is_file()
    }
    assert on_disk == set(corpus.corpus()) == {*REFUSED, *ACCEPTED}
    assert len(REFUSED) == sum(len(group) for group in CATEGORIES.values()) >= 30
    counts = ", ".join(f"{name} {len(group)}" for name, group in CATEGORIES.items())
    print(f"\nFIGURE | corpus : {len(REFUSED)} refusés ({counts}), {len(ACCEPTED)} acceptés")


@pytest.mark.parametrize("name", REFUSED)
def test_each_bad_file_gets_a_french_error_where_it_is(name, validated):
    result = validated[name]
    expected = REFUSED[name]
    assert result.status == "rejete"
    issue = first_error(result, expected)
    assert issue.severity == ERROR and issue.file == name
    assert (issue.sheet, issue.row, issue.column) == (expected.sheet, expected.row, expected.column)
    if expected.value is not None:
        assert issue.value == expected.value
    if expected.cell is not None:
        assert issue.cell == expected.cell
    assert all(issue.file == name for issue in result.issues)


def test_an_excel_number_too_large_to_be_an_integer_is_too_large(validated):
    """1E+300 arrives as a 301-digit text: too large, not « not a number »."""
    [second] = [issue for issue in validated["nombre_enorme.xlsx"].errors if issue.row == 3]
    assert second.cell == "C3" and "nombre trop grand" in second.message


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_files_are_valid(name, validated):
    assert validated[name].status == "valide", [i.message for i in validated[name].issues]


def test_validating_writes_nothing(published_db):
    before = [published_db.read_bytes(), public_path(published_db).read_bytes()]
    validate_files([corpus_path(name) for name in REFUSED], published_db)
    assert [published_db.read_bytes(), public_path(published_db).read_bytes()] == before


def test_loading_the_corpus_changes_nothing_but_the_load_history(published_db):
    """The loader records each refusal in load_runs (a new version is published): that list grows
    by exactly one 'rejete' row per file, and every other table, raw and public, is identical."""
    before, runs_before = data_tables(published_db), load_runs(published_db)
    results = load_files([corpus_path(name) for name in REFUSED], published_db, user="fiabilite")
    assert [result.status for result in results] == ["rejete"] * len(REFUSED)
    assert data_tables(published_db) == before
    runs = load_runs(published_db)
    assert runs[: len(runs_before)] == runs_before
    assert [run[1:] for run in runs[len(runs_before) :]] == [
        ("soumission", name, "rejete", "fiabilite") for name in REFUSED
    ]


def test_the_report_escapes_every_hostile_value(validated):
    results = [validated[name] for name in REFUSED]
    page = report.render_html(results, title="Rapport <script>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#x27;; drop table activity; --" in page or "'; drop table activity; --" in page
    console = Console(record=True, width=200, file=io.StringIO())
    report.print_results(console, results)  # rich markup in values must not break the console
    printed = console.export_text()
    assert "<script>alert(1)</script>" in printed and "tronque.xlsx" in printed


# --- accepted files: read right, texts harmless ------------------------------------------------------


@pytest.fixture
def accepted_db(published_db) -> Path:
    results = load_files([corpus_path(name) for name in ACCEPTED], published_db)
    assert [r.status for r in results] == ["charge"] * len(ACCEPTED), [
        [i.message for i in r.issues] for r in results
    ]
    return published_db


def test_accepted_files_load_what_they_say(accepted_db):
    loaded = table(
        accepted_db,
        """select member_code, period_code, theme, ofs_number, personnes from activity
           order by member_code, period_code, theme""",
    )
    expected = sorted(row for rows in ACCEPTED.values() for row in rows)
    assert sorted(loaded) == expected


def test_hostile_texts_are_stored_as_written(accepted_db):
    stored = table(accepted_db, "select texte from observations order by obs_date")
    assert [text for (text,) in stored] == corpus.HOSTILE_TEXTS
    assert table(accepted_db, "select count(*) from activity")  # the table survived the « drop »


@pytest.fixture
def media(monkeypatch):
    """Every file offered for download during the AppTest runs of a test."""
    stores = []

    class Capturing(app_test_module.MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Capturing)
    return stores


@pytest.fixture
def click_downloads(monkeypatch):
    """Run the downloads whose content is built when their button is clicked (deferred data, e.g.
    the HTML brief), as a click does, so that `media` holds their files too. Pass a file suffix."""
    managers = []

    class Capturing(app_test_module.MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Capturing)

    def click(suffix: str) -> None:
        for manager in managers:
            for file_id, entry in list(manager._deferred_callables.items()):
                if str(entry["filename"]).endswith(suffix):
                    manager.execute_deferred(file_id)

    return click


def test_hostile_texts_are_escaped_on_the_page_and_neutralised_in_its_export(
    accepted_db, monkeypatch, media
):
    monkeypatch.setenv("OBSERVATOIRE_DB", str(accepted_db))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/remontees.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [element.value for element in at.markdown]
    for text in corpus.HOSTILE_TEXTS:
        assert md_escape(text) in shown  # shown literally: no HTML, link, image or emphasis
    assert not any("<script>" in value for value in shown)
    # The feed's CSV (the alerts chart's data is another download of the page).
    [export] = [
        f.content
        for store in media
        for f in store._files_by_id.values()
        if (f.filename or "").startswith("remontees-du-terrain-")
    ]
    rows = list(csv.DictReader(io.StringIO(export.decode("utf-8-sig"))))
    exported = {row["texte"] for row in rows}
    for text in corpus.HOSTILE_TEXTS:
        runs_in_a_spreadsheet = text[0] in "=+-@"
        assert (f"'{text}" if runs_in_a_spreadsheet else text) in exported


# --- generated at test time: 100 MB, zip bombs, a directory, path traversal --------------------------

BIG_AND_BOMBS = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from etl.submission.load import load_files, validate_files
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mode, paths = sys.argv[2], [Path(p) for p in sys.argv[3:]]
    if mode == "charger":
        results = load_files(paths, Path(sys.argv[1]), user="fiabilite")
    else:  # validation only: no publish, so the peak is the reading's alone
        results = validate_files(paths, Path(sys.argv[1]))
    print(json.dumps({
        "results": [[r.file_name, r.status, r.errors[0].message] for r in results],
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "baseline_mb": baseline,
    }))
    """
)


def test_a_100_mb_file_and_zip_bombs_are_refused_without_inflating(published_db, tmp_path):
    """In a child process, whose peak memory is measured: the 512 MB bombs are never inflated."""
    files = tmp_path / "files"
    files.mkdir()
    big_workbook = corpus.big_file(files / "gros_100mo.xlsx")
    big_csv = corpus.big_file(files / "gros_100mo.csv")
    bomb, lying_bomb = corpus.zip_bombs(files)
    assert big_csv.stat().st_size == 100 * 1024 * 1024 and bomb.stat().st_size < 1024 * 1024
    before = data_tables(published_db)

    def load_in_child(mode: str, *paths: Path) -> dict:
        done = subprocess.run(
            [sys.executable, "-c", BIG_AND_BOMBS, str(published_db), mode, *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return json.loads(done.stdout.splitlines()[-1])

    # Measured apart: reading the 100 MB files costs real memory; the bombs must cost almost none.
    big = load_in_child("charger", big_workbook, big_csv)
    # The bombs' reading measured alone (a load also rebuilds the aggregates, whose memory is not
    # the point here); `charger` refuses them with the same messages, as the corpus tests show.
    bombs = load_in_child("valider", bomb, lying_bomb)
    outcome = {"results": big["results"] + bombs["results"], "peak_mb": bombs["peak_mb"]}
    statuses = {name: (status, message) for name, status, message in outcome["results"]}
    assert (
        statuses["gros_100mo.xlsx"][0] == "rejete" and UNREADABLE in statuses["gros_100mo.xlsx"][1]
    )
    assert NO_HEADER in statuses["gros_100mo.csv"][1]
    assert "se décompresse en plus de 256 Mo (512 Mo au moins)" in statuses["bombe_zip.xlsx"][1]
    assert "endommagé" in statuses["bombe_zip_taille_mensongere.xlsx"][1]
    # Above what the imports cost. Alone it measures ~250 MB; inside the whole suite it reached
    # ~540 MB (not understood yet: see the closing note). Two 512 MB bombs inflated in memory would
    # need more than 1 GB.
    assert bombs["peak_mb"] - bombs["baseline_mb"] < 900, bombs
    assert big["peak_mb"] < 1024, big
    assert data_tables(published_db) == before
    print(
        "\nFIGURE | générés : 2 fichiers de 100 Mo, 2 bombes zip de 512 Mo (l'une à taille "
        f"mensongère), refusés ; pic mémoire du chargeur {big['peak_mb']:.0f} Mo (fichiers de 100 Mo), "
        f"{bombs['peak_mb']:.0f} Mo (bombes)"
    )


def test_a_directory_is_named_as_such(published_db, tmp_path):
    folder = tmp_path / "dossier.xlsx"
    folder.mkdir()
    with pytest.raises(
        UserError, match=r"Dossier\(s\) indiqué\(s\) au lieu de fichiers : .*dossier\.xlsx"
    ):
        load_files([folder], published_db)
    # The command line opens a folder's files itself; an empty one is one French sentence.
    result = CliRunner().invoke(cli_app, ["charger", str(folder), "--base", str(published_db)])
    assert result.exit_code == 1 and "ne \ncontient aucun fichier .xlsx ou .csv" in result.output
    assert "Traceback" not in result.output


def test_a_path_traversal_name_loads_under_its_bare_name_and_writes_nowhere_else(
    published_db, tmp_path, monkeypatch
):
    """`charger ../../etc/passwd.xlsx` reads that file and records « passwd.xlsx »; the report
    lands in the current directory. The admin upload keeps only the bare name too."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    target = tmp_path / "etc"
    target.mkdir()
    (target / "passwd.xlsx").write_bytes(corpus_path("injection_sql.xlsx").read_bytes())
    monkeypatch.chdir(work)
    result = CliRunner().invoke(
        cli_app, ["charger", "../../etc/passwd.xlsx", "--base", str(published_db)]
    )
    assert result.exit_code == 1 and "passwd.xlsx" in result.output, result.output
    assert sorted(p.name for p in work.iterdir()) == ["rapport_passwd.html"]
    assert sorted(p.name for p in target.iterdir()) == ["passwd.xlsx"]
    assert load_runs(published_db)[-1][2:4] == ("passwd.xlsx", "rejete")

    saved = upload.save_upload("../../etc/passwd.xlsx", (target / "passwd.xlsx").read_bytes())
    try:
        assert saved.path == saved.directory / "passwd.xlsx"
        assert saved.directory.name.startswith(upload.TEMP_PREFIX)
    finally:
        saved.remove()


# --- the Administration page: limits on what may be uploaded -----------------------------------------

PASSWORD = "fiabilite et securite"


def signed_in_admin(db_path: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("OBSERVATOIRE_DB", str(db_path))
    monkeypatch.setenv(auth.HASH_ENV_VAR, auth.hash_password(PASSWORD, iterations=1000))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("views/administration.py").run()
    at.text_input(key="admin_user_name").set_value("Test")
    at.text_input(key="admin_password").set_value(PASSWORD)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_admin_page_refuses_big_and_foreign_files_and_strips_paths(published_db, monkeypatch):
    at = signed_in_admin(published_db, monkeypatch)
    before = [published_db.read_bytes(), public_path(published_db).read_bytes()]
    uploader = at.file_uploader(key="admin_file")
    assert uploader.proto.max_upload_size_mb == upload.MAX_UPLOAD_MB == 10
    assert sorted(uploader.proto.type) == [".csv", ".xlsx"]

    big = b"PK\x03\x04" + bytes(100 * 1024 * 1024)
    uploader.set_value(("../gros.xlsx", big, "application/octet-stream")).run()
    errors = " ".join(e.value for e in at.error).replace("\\", "")  # Markdown escapes
    assert "Le fichier « ../gros.xlsx » pèse 100,0 Mo : la limite est de 10 Mo." in errors

    hostile = corpus_path("script_membre.xlsx").read_bytes()
    at.file_uploader(key="admin_file").set_value(("../../etc/passwd.xlsx", hostile, "x")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.value.startswith("**passwd.xlsx** — refusé") for e in at.error)
    assert not [b for b in at.button if b.key == "admin_confirm_load"]

    # Other extensions: Streamlit's own check refuses them before the page's code runs.
    at.file_uploader(key="admin_file").set_value(("outil.exe", b"MZ\x90\x00", "x")).run()
    assert [e.value for e in at.exception] == [
        "Invalid file extension: `.exe`. Allowed: ['.xlsx', '.csv']"
    ]
    with pytest.raises(upload.UploadRefused) as refused:  # and the page's own check behind it
        upload.check_upload("outil.exe", b"MZ\x90\x00")
    assert refused.value.key == "admin.bad_type"
    assert [published_db.read_bytes(), public_path(published_db).read_bytes()] == before


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_is_one_french_sentence_and_stays_as_it_was(
    damage, published_db, tmp_path
):
    """The loader's own database broken (a bad restore, a full disk): no traceback, no copy left."""
    good = published_db.read_bytes()
    broken = b"pas une base DuckDB " * 200 if damage == "garbage" else good[: len(good) // 2]
    published_db.write_bytes(broken)
    with pytest.raises(UserError, match="n'a pas pu être lue ou écrite .* Rien n'a été modifié"):
        load_files([corpus_path("accepte_bom.csv")], published_db)
    assert published_db.read_bytes() == broken
    assert [p.name for p in published_db.parent.iterdir() if p.name.startswith(".obs-next-")] == []
    result = CliRunner().invoke(
        cli_app, ["charger", str(corpus_path("accepte_bom.csv")), "--base", str(published_db)]
    )
    assert result.exit_code == 1 and "Rien n'a été" in result.output
    assert "Traceback" not in result.output


def test_the_upload_check_accepts_what_the_loader_accepts():
    """Excel's « Texte Unicode » (UTF-16) CSV holds NUL bytes, yet it is text the loader reads."""
    for name in ("accepte_utf16.csv", "accepte_latin1.csv", "accepte_bom.csv"):
        assert upload.check_upload(name, corpus_path(name).read_bytes()) == name
    with pytest.raises(upload.UploadRefused) as refused:
        upload.check_upload("binaire.csv", b"\xff\xfe\x00\xd8")  # a lone UTF-16 surrogate
    assert refused.value.key == "admin.bad_content_csv"


def test_a_hostile_directory_entry_is_escaped_and_neutralised_in_every_export(
    accepted_db, monkeypatch, media
):
    """Qui fait quoi: the card shows the texts literally; the CSV (and the Excel file, built from
    the same frame) and the HSDS package prefix formula starts with « ' »."""
    monkeypatch.setenv("OBSERVATOIRE_DB", str(accepted_db))
    name, *_, address, _, contact, conditions, _ = corpus.HOSTILE_SERVICE
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/qui_fait_quoi.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(element.value for element in at.markdown)
    assert md_escape(name) in shown and "<script>" not in shown
    # The directory's CSV (the map's chart data is another download of the page).
    [export] = [
        f.content
        for store in media
        for f in store._files_by_id.values()
        if (f.filename or "").startswith("qui-fait-quoi-")
    ]
    [row] = list(csv.DictReader(io.StringIO(export.decode("utf-8-sig"))))
    assert {f"'{name}", f"'{contact}", f"'{conditions}", address} <= set(row.values())

    directory, members = data.run("directory_services"), data.run("directory_members")
    themes, communes = data.themes(), data.communes()
    prepared = directory_component.with_served_names(
        directory_component.prepare(directory), communes, "tout le canton"
    )
    package = zipfile.ZipFile(io.BytesIO(hsds.build_zip(prepared, members, themes, communes)))
    cells = {
        cell
        for member in package.namelist()
        if member.endswith(".csv")
        for line in csv.reader(io.StringIO(package.read(member).decode("utf-8")))
        for cell in line
    }
    assert f"'{name}" in cells and name not in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")]


def test_the_commune_brief_escapes_a_hostile_directory_entry(
    accepted_db, monkeypatch, media, click_downloads
):
    monkeypatch.setenv("OBSERVATOIRE_DB", str(accepted_db))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["commune"] = "6631"  # Onex, where the hostile service is
    at.run()
    at.switch_page("views/fiche.py").run()
    assert not at.exception, [e.value for e in at.exception]
    click_downloads(".html")  # the HTML brief is built when its button is clicked
    pages = [
        f.content.decode("utf-8")
        for store in media
        for f in store._files_by_id.values()
        if f.content.lstrip().startswith(b"<!DOCTYPE html")
    ]
    assert pages, "no HTML brief offered"
    for page in pages:
        # The brief counts services per theme and links to Qui fait quoi for their details: no
        # member-written text of the directory reaches it, escaped or not.
        assert "<script>alert(" not in page and "alert(&#x27;adresse" not in page
        assert "services au total" in page
