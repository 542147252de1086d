"""Loading submissions: one slice replaced per member × period, atomic, idempotent, recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pytest
from test_submission_support import messages, table, workbook

from etl import db
from etl.submission import load as load_module
from etl.submission.load import load_files
from etl.submission.template import template_data, write_template

pytest_plugins = ["test_submission_support"]

HEADER = ["theme", "commune", "personnes", "femmes", "hommes"]
SERVICES = [
    ["nom", "theme", "commune", "communes_desservies", "langues"],
    ["Épicerie", "alimentation", "Onex", "Onex, Lancy", "français; arabe"],
    ["Douches", "hygiene", "Ville de Genève", "tout le canton", None],
]
OBSERVATIONS = [
    ["date", "theme", "niveau", "texte", "public"],
    ["15.02.2024", "alimentation", "alerte", "Plus de familles", "oui"],
]


def slice_rows(db_path: Path, member: str = "ALIM-01", period: str = "2024-T1") -> list[tuple]:
    return table(
        db_path,
        f"""select theme, lieu, personnes, femmes from activity
                              where member_code = '{member}' and period_code = '{period}'
                              order by theme, lieu""",
    )


def runs(db_path: Path) -> list[tuple]:
    return table(
        db_path,
        """select status, file_name, member_code, period_code, rows_accepted,
                                    rows_rejected from load_runs where kind = 'soumission'
                             order by run_id""",
    )


def data_snapshot(db_path: Path) -> list:
    return [
        table(db_path, f"select * exclude (load_id) from {name} order by all")
        for name in ("activity", "services", "observations")
    ] + [table(db_path, "select member_code, period_code, sha256 from submissions order by all")]


def test_loading_writes_the_three_sheets_and_records_the_run(fresh_db, tmp_path):
    path = workbook(
        tmp_path / "t1.xlsx",
        [HEADER, ["alimentation", "Onex", 10, 6, 4], ["hygiene", "hors canton", 3, None, None]],
        period="2024-T1",
        services=SERVICES,
        observations=OBSERVATIONS,
    )
    [result] = load_files([path], fresh_db, user="secretariat")
    assert result.status == "charge", messages(result)
    assert result.counts == {"activite": 2, "services": 2, "observations": 1}
    assert slice_rows(fresh_db) == [
        ("alimentation", "6631", 10, 6),
        ("hygiene", "hors_canton", 3, None),
    ]
    assert table(fresh_db, "select year, ofs_number, is_demo from activity order by lieu") == [
        (2024, 6631, False),
        (2024, None, False),
    ]
    assert table(
        fresh_db,
        """select nom, lieu, communes_desservies, tout_le_canton, langues, service_no
                              from services where nom = 'Épicerie'""",
    ) == [("Épicerie", "6631", [6628, 6631], False, ["français", "arabe"], 1)]
    assert table(
        fresh_db,
        """select lieu, len(communes_desservies), list_min(communes_desservies),
                  list_max(communes_desservies), tout_le_canton, langues, service_no
           from services where nom = 'Douches'""",
    ) == [("6621", 45, 6601, 6645, True, None, 2)]
    assert table(fresh_db, "select obs_date::varchar, niveau, is_public from observations") == [
        ("2024-02-15", "alerte", True)
    ]
    assert table(
        fresh_db,
        "select contact, file_name, load_id = ? from submissions".replace("?", str(result.run_id)),
    ) == [("Mme Test", "t1.xlsx", True)]
    assert table(
        fresh_db, "select username, status from load_runs where run_id = " + str(result.run_id)
    ) == [("secretariat", "charge")]


def test_loading_again_replaces_the_slice_and_nothing_else(fresh_db, tmp_path):
    first = workbook(
        tmp_path / "v1.xlsx",
        [HEADER, ["alimentation", "Onex", 10], ["alimentation", "Lancy", 5]],
        period="2024-T1",
        services=SERVICES,
        observations=OBSERVATIONS,
    )
    other = workbook(
        tmp_path / "heb.xlsx",
        [HEADER, ["hebergement", "Onex", 7]],
        member="HEB-02",
        period="2024-T1",
    )
    assert [r.status for r in load_files([first, other], fresh_db)] == ["charge", "charge"]
    second = workbook(
        tmp_path / "v2.xlsx", [HEADER, ["alimentation", "Onex", 12]], period="2024-T1"
    )
    [result] = load_files([second], fresh_db)
    assert result.status == "remplace"
    assert slice_rows(fresh_db) == [
        ("alimentation", "6631", 12, None)
    ]  # Lancy is gone, Onex replaced
    assert table(fresh_db, "select count(*) from services where member_code = 'ALIM-01'") == [(0,)]
    assert table(fresh_db, "select count(*) from observations where member_code = 'ALIM-01'") == [
        (0,)
    ]
    assert slice_rows(fresh_db, "HEB-02") == [("hebergement", "6631", 7, None)]
    assert table(fresh_db, "select member_code, file_name from submissions order by 1") == [
        ("ALIM-01", "v2.xlsx"),
        ("HEB-02", "heb.xlsx"),
    ]
    assert table(fresh_db, "select sum(personnes) from activity") == [
        (19,)
    ]  # 12 + 7, no double count


def test_an_identical_file_is_already_loaded(fresh_db, tmp_path):
    path = workbook(
        tmp_path / "same.xlsx", [HEADER, ["alimentation", "Onex", 10]], period="2024-T2"
    )
    load_files([path], fresh_db)
    before = data_snapshot(fresh_db)
    renamed = tmp_path / "copie.xlsx"
    renamed.write_bytes(path.read_bytes())
    results = load_files([path, renamed], fresh_db)
    assert [r.status for r in results] == ["deja_charge", "deja_charge"]
    assert data_snapshot(fresh_db) == before
    assert [run[0] for run in runs(fresh_db)] == ["charge", "deja_charge", "deja_charge"]


def test_a_rejected_file_loads_nothing_but_is_recorded(fresh_db, tmp_path):
    good = workbook(
        tmp_path / "good.xlsx", [HEADER, ["alimentation", "Onex", 10]], period="2024-T3"
    )
    load_files([good], fresh_db)
    before = data_snapshot(fresh_db)
    bad = workbook(
        tmp_path / "bad.xlsx",
        [HEADER, ["alimentation", "Onex", 11], ["alimentation", "Lancy", -1]],
        period="2024-T3",
    )
    [result] = load_files([bad], fresh_db)
    assert result.status == "rejete" and (result.rows_accepted, result.rows_rejected) == (1, 1)
    assert data_snapshot(fresh_db) == before  # not even the valid row
    assert runs(fresh_db)[-1] == ("rejete", "bad.xlsx", "ALIM-01", "2024-T3", 1, 1)
    message = table(fresh_db, "select message from load_runs order by run_id desc limit 1")[0][0]
    assert "1 erreur(s)" in message and "ligne 3" in message


def test_one_bad_file_does_not_stop_the_others(fresh_db, tmp_path):
    bad = workbook(
        tmp_path / "bad.xlsx", [HEADER, ["alimentation", "Nowhere", 1]], period="2024-T1"
    )
    good = workbook(
        tmp_path / "good.xlsx",
        [HEADER, ["hebergement", "Onex", 2]],
        member="HEB-02",
        period="2024-T1",
    )
    results = load_files([bad, good], fresh_db)
    assert [r.status for r in results] == ["rejete", "charge"]
    assert table(fresh_db, "select member_code, personnes from activity") == [("HEB-02", 2)]


def test_a_dry_run_writes_nothing(fresh_db, tmp_path):
    path = workbook(tmp_path / "dry.xlsx", [HEADER, ["alimentation", "Onex", 10]], period="2024-T1")
    before = fresh_db.read_bytes()
    [result] = load_files([path], fresh_db, dry_run=True)
    assert result.status == "charge" and result.dry_run
    assert fresh_db.read_bytes() == before


def test_a_failure_before_publishing_leaves_the_file_byte_identical(
    fresh_db, tmp_path, monkeypatch
):
    path = workbook(tmp_path / "f.xlsx", [HEADER, ["alimentation", "Onex", 10]], period="2024-T1")
    before = fresh_db.read_bytes()

    def broken(con, scope):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(db, "refresh_derived", broken)
    with pytest.raises(RuntimeError):
        load_files([path], fresh_db)
    assert fresh_db.read_bytes() == before


def test_an_internal_error_in_one_file_is_recorded_and_rolled_back(fresh_db, tmp_path, monkeypatch):
    path = workbook(tmp_path / "e.xlsx", [HEADER, ["alimentation", "Onex", 10]], period="2024-T1")
    real_write = load_module._write

    def write_then_fail(con, validated, run_id, **options):
        real_write(con, validated, run_id, **options)
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(load_module, "_write", write_then_fail)
    [result] = load_files([path], fresh_db)
    assert result.status == "erreur" and "panne simulée" in messages(result)
    assert table(fresh_db, "select count(*) from activity") == [(0,)]
    assert table(fresh_db, "select count(*) from submissions") == [(0,)]
    assert runs(fresh_db)[-1][0] == "erreur"


KILLED_LOAD = """
import sys, time
from pathlib import Path
from etl.submission.load import load_files

def progress(step):
    if "écriture (" in step:  # rows deleted and inserted in the copy, not yet published
        Path(sys.argv[3]).write_text("en cours")
        time.sleep(120)

load_files([Path(sys.argv[1])], Path(sys.argv[2]), progress=progress)
"""


def test_a_load_killed_in_the_middle_leaves_the_previous_database(fresh_db, tmp_path):
    first = workbook(tmp_path / "v1.xlsx", [HEADER, ["alimentation", "Onex", 10]], period="2024-T1")
    load_files([first], fresh_db)
    before = fresh_db.read_bytes()
    second = workbook(
        tmp_path / "v2.xlsx", [HEADER, ["alimentation", "Onex", 99]], period="2024-T1"
    )
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_LOAD), encoding="utf-8")
    marker = tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, str(script), str(second), str(fresh_db), str(marker)]
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, "the load ended before reaching the write"
            assert time.monotonic() < deadline, "the load never reached the write"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert fresh_db.read_bytes() == before
    assert slice_rows(fresh_db) == [("alimentation", "6631", 10, None)]  # queryable, old figures
    assert any(p.name.startswith(".obs-next-") for p in tmp_path.iterdir())  # the abandoned copy
    [result] = load_files([second], fresh_db)  # the next load cleans up and succeeds
    assert result.status == "remplace"
    assert slice_rows(fresh_db) == [("alimentation", "6631", 99, None)]
    assert not any(p.name.startswith(".obs-next-obs.duckdb") for p in tmp_path.iterdir())


def test_demo_rows_are_marked(fresh_db, tmp_path):
    real = workbook(
        tmp_path / "real.xlsx", [HEADER, ["alimentation", "Onex", 10]], period="2024-T1"
    )
    demo_member = workbook(
        tmp_path / "demo.xlsx",
        [HEADER, ["alimentation", "Onex", 5]],
        member="DEMO-01",
        period="2024-T1",
    )
    load_files([real], fresh_db, is_demo=True)
    load_files([demo_member], fresh_db)  # a demo member's rows are demo rows, whatever the flag
    assert table(fresh_db, "select member_code, is_demo from activity order by 1") == [
        ("ALIM-01", True),
        ("DEMO-01", True),
    ]


def test_a_csv_may_hold_several_members_and_periods(fresh_db, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text(
        "membre,periode,theme,commune,personnes\n"
        "ALIM-01,2024-T1,alimentation,Onex,1\n"
        "ALIM-01,2024-T2,alimentation,Onex,2\n"
        "HEB-02,2024,hebergement,Onex,3\n",
        encoding="utf-8",
    )
    [result] = load_files([path], fresh_db)
    assert result.status == "charge"
    assert result.member_code is None and result.period_code is None
    assert sorted(result.slices) == [
        ("ALIM-01", "2024-T1"),
        ("ALIM-01", "2024-T2"),
        ("HEB-02", "2024"),
    ]
    assert table(fresh_db, "select count(*), sum(personnes) from activity") == [(3, 6)]
    assert table(fresh_db, "select count(*) from submissions where file_name = 'many.csv'") == [
        (3,)
    ]
    [again] = load_files([path], fresh_db)
    assert again.status == "deja_charge"


def test_template_filled_by_code_loads_the_numbers_written(fresh_db, tmp_path):
    con = db.open_reader(fresh_db)
    try:
        data = template_data(con, "alim-01", "2024-T4")
    finally:
        con.close()
    path = write_template(tmp_path / "modele.xlsx", data)
    book = openpyxl.load_workbook(path)
    activity = book["activite"]
    headers = [cell.value for cell in activity[3]]
    rows = [
        {
            "theme": "Aide alimentaire",
            "commune": "Carouge",
            "personnes": 120,
            "femmes": 70,
            "hommes": 50,
            "prestations": 1500,
        },
        {"theme": "Hygiène, laveries, douches", "commune": "non renseignée", "personnes": 8},
    ]
    for offset, values in enumerate(rows):
        for name, value in values.items():
            activity.cell(row=5 + offset, column=headers.index(name) + 1, value=value)
    book["identification"]["B5"] = "Jeanne Exemple"
    book.save(path)
    [result] = load_files([path], fresh_db)
    assert result.status == "charge", messages(result)
    assert result.rows_skipped == 3  # the example row of each sheet
    assert table(
        fresh_db,
        """select theme, lieu, personnes, femmes, hommes, prestations from activity
                              order by theme""",
    ) == [
        ("alimentation", "6608", 120, 70, 50, 1500),
        ("hygiene", "non_renseignee", 8, None, None, None),
    ]
    assert table(fresh_db, "select contact from submissions") == [("Jeanne Exemple",)]
