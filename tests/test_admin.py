"""Administration: password hashes, lockout, configuration, upload checks, the page refusing without
sign-in, and an upload through the page writing exactly what `observatoire charger` writes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import pytest
import xlsxwriter
from admin_support import (
    FILE_NAME,
    MEMBER,
    PERIOD,
    copy_database,
    loaded_copy,
    rows,
    write_workbook,
)
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from dashboard import auth, data
from dashboard.brief_export import chromium_path
from dashboard.components import upload
from dashboard.data import query_text
from etl import db as etl_db
from etl.auth import passwords
from etl.auth.lockout import SignInLockout
from etl.cli import app as cli_app

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PASSWORD = "correct horse battery staple"
NOW = dt.datetime(2026, 3, 2, 10, 0)


# --- password hashes --------------------------------------------------------------------------------


def test_pbkdf2_hash_is_salted_and_verifies():
    salt = b"0123456789abcdef"
    encoded = auth.hash_password(PASSWORD, iterations=1000, salt=salt)
    expected = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 1000)
    assert encoded == (
        f"pbkdf2_sha256$1000${base64.b64encode(salt).decode()}${base64.b64encode(expected).decode()}"
    )
    assert auth.verify_password(PASSWORD, encoded)
    assert not auth.verify_password(PASSWORD + " ", encoded)
    # A fresh random salt each time: the same password never gives the same hash.
    assert auth.hash_password(PASSWORD, iterations=1000) != auth.hash_password(
        PASSWORD, iterations=1000
    )
    assert auth.hash_password(PASSWORD).split("$")[1] == "600000"


def test_scrypt_hash_verifies():
    encoded = auth.hash_password_scrypt(PASSWORD)
    assert encoded.startswith("scrypt$16384$8$1$")
    assert auth.verify_password(PASSWORD, encoded)
    assert not auth.verify_password("wrong", encoded)


def test_comparison_is_constant_time(monkeypatch):
    calls = []
    real = passwords.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(passwords.hmac, "compare_digest", spy)
    auth.verify_password("x", auth.hash_password(PASSWORD, iterations=10))
    assert len(calls) == 1


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain-password",
        "pbkdf2_sha256$abc$c2FsdA==$aGFzaA==",
        "md5$1$2",
        "pbkdf2_sha256$10$%%$x",
    ],
)
def test_malformed_hash_is_a_configuration_error(encoded):
    with pytest.raises(auth.HashFormatError):
        auth.check_hash_format(encoded)


# --- lockout ----------------------------------------------------------------------------------------


def test_five_failures_lock_for_fifteen_minutes():
    config = auth.AuthConfig(auth.hash_password(PASSWORD, iterations=10), False, frozenset())
    throttle = SignInLockout()
    for attempt in range(4):
        identity, reason = auth.sign_in_with_password("nope", config, throttle, "ip", NOW)
        assert identity is None and f"Encore {4 - attempt} essai" in reason
    identity, reason = auth.sign_in_with_password("nope", config, throttle, "ip", NOW)
    assert identity is None and "bloquée" in reason
    assert throttle.locked_until("ip", NOW) == NOW + dt.timedelta(minutes=15)
    # Locked: even the right password is refused, for this client only.
    later = NOW + dt.timedelta(minutes=14, seconds=59)
    assert auth.sign_in_with_password(PASSWORD, config, throttle, "ip", later)[0] is None
    assert auth.sign_in_with_password(PASSWORD, config, throttle, "other", later)[0] is not None
    after = NOW + dt.timedelta(minutes=15)
    assert auth.sign_in_with_password(PASSWORD, config, throttle, "ip", after)[0] is not None


def test_success_resets_the_failure_count():
    config = auth.AuthConfig(auth.hash_password(PASSWORD, iterations=10), False, frozenset())
    throttle = SignInLockout()
    for _ in range(4):
        auth.sign_in_with_password("nope", config, throttle, "ip", NOW)
    assert auth.sign_in_with_password(PASSWORD, config, throttle, "ip", NOW)[0] is not None
    for _ in range(4):
        auth.sign_in_with_password("nope", config, throttle, "ip", NOW)
    assert throttle.locked_until("ip", NOW) is None


def test_session_expires_after_its_lifetime():
    session: dict = {}
    auth.remember(session, auth.AdminIdentity("anna", "motdepasse", NOW))
    assert auth.session_identity(session, NOW + dt.timedelta(hours=7)) is not None
    assert auth.session_identity(session, NOW + dt.timedelta(hours=8, minutes=1)) is None
    assert session == {}


# --- configuration ----------------------------------------------------------------------------------


def test_configuration_from_environment_then_secrets():
    secrets = {"admin": {"password_hash": "from-secrets", "allowed_emails": ["A@capas.ch"]}}
    env = {auth.HASH_ENV_VAR: "from-env"}
    assert auth.load_config(env, secrets).password_hash == "from-env"
    config = auth.load_config({}, secrets)
    assert config.password_hash == "from-secrets" and not config.oidc and config.enabled
    assert not auth.load_config({}, {}).enabled
    # OIDC alone is enabled only with an allow-list.
    assert not auth.load_config({}, {"auth": {"client_id": "x"}}).enabled
    oidc = auth.load_config({}, {"auth": {"client_id": "x"}, "admin": {"allowed_emails": "a@b.ch"}})
    assert oidc.enabled and oidc.allowed_emails == {"a@b.ch"}


def test_oidc_user_must_be_on_the_allow_list():
    config = auth.AuthConfig(None, True, frozenset({"anna@capas.ch"}))
    allowed = {"is_logged_in": True, "email": "Anna@CAPAS.ch", "name": "Anna"}
    stranger = {"is_logged_in": True, "email": "eve@example.com", "name": "Eve"}
    assert auth.oidc_identity(config, _User(allowed), NOW).name == "Anna"
    assert auth.oidc_identity(config, _User(stranger), NOW) is None
    assert auth.oidc_identity(config, _User({"is_logged_in": False}), NOW) is None


class _User(dict):
    def __getattr__(self, name):
        return self.get(name)


# --- upload checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("Rapport 2025 (v2).xlsx", "Rapport 2025 (v2).xlsx"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\anna\\Données T1.XLSX", "Données T1.xlsx"),
        ("..hidden.csv", "hidden.csv"),
        ("a;rm -rf|x.csv", "a_rm -rf_x.csv"),
    ],
)
def test_file_names_are_sanitised(name, safe):
    assert upload.sanitise_name(name) == safe


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.txt", b"hello", "admin.bad_type"),
        ("macro.xlsm", b"PK\x03\x04", "admin.bad_type"),
        ("fake.xlsx", b"not a zip", "admin.bad_content_xlsx"),
        ("binary.csv", b"a,b\n\x00\x01", "admin.bad_content_csv"),
        ("big.csv", b"a" * (upload.MAX_UPLOAD_BYTES + 1), "admin.too_big"),
    ],
)
def test_unacceptable_files_are_refused(name, content, reason):
    with pytest.raises(upload.UploadRefused) as refused:
        upload.check_upload(name, content)
    assert refused.value.key == reason


def test_saved_upload_lands_in_a_private_directory():
    saved = upload.save_upload("../x/Mon fichier.csv", b"membre,periode\n")
    try:
        assert saved.path.name == "Mon fichier.csv" and saved.path.parent == saved.directory
        assert saved.path.read_bytes() == b"membre,periode\n"
    finally:
        saved.remove()
    assert not saved.directory.exists()


# --- the page ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_hash(monkeypatch) -> str:
    encoded = auth.hash_password(PASSWORD, iterations=1000)
    monkeypatch.setenv(auth.HASH_ENV_VAR, encoded)
    return encoded


@pytest.fixture
def no_raw_reads(monkeypatch):
    """Fail if the page reads the raw database (it must not before sign-in)."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the raw database was read")

    monkeypatch.setattr(data, "run_admin", refuse)


def open_admin() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("views/administration.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, password: str = PASSWORD, name: str = "Anna") -> AppTest:
    at.text_input(key="admin_user_name").set_value(name)
    at.text_input(key="admin_password").set_value(password)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def signed_in(at: AppTest) -> bool:
    return any(m.value.startswith("Connecté·e") for m in at.markdown)


def test_page_without_configuration_explains_and_does_nothing(demo_env, monkeypatch, no_raw_reads):
    monkeypatch.delenv(auth.HASH_ENV_VAR, raising=False)
    at = open_admin()
    assert any("pas activée" in w.value for w in at.warning)
    assert any("OBSERVATOIRE_ADMIN_PASSWORD_HASH" in m.value for m in at.markdown)
    assert not at.get("form_submit_button") and not at.get("file_uploader")
    assert not at.tabs and not at.dataframe


def test_page_refuses_without_sign_in(demo_env, admin_hash, no_raw_reads):
    at = open_admin()
    assert at.get("form_submit_button")
    assert not at.get("file_uploader") and not at.tabs and not at.dataframe
    sign_in(at, "wrong password")
    assert any("Mot de passe incorrect" in e.value for e in at.error)
    assert not signed_in(at) and not at.get("file_uploader")


def test_repeated_failures_lock_the_page_for_every_session(demo_env, admin_hash):
    at = open_admin()
    for _ in range(auth.MAX_FAILURES):
        sign_in(at, "wrong password")
    assert any("bloquée" in e.value for e in at.error)
    sign_in(at, PASSWORD)
    assert not signed_in(at) and any("bloquée" in e.value for e in at.error)
    # A new session (another tab, a reload) is locked too: the count lives in the server process.
    other = open_admin()
    sign_in(other, PASSWORD)
    assert not signed_in(other) and any("bloquée" in e.value for e in other.error)


def test_a_bad_configured_hash_is_reported(demo_env, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV_VAR, "motdepasse-en-clair")
    at = open_admin()
    assert any("configuration de la connexion est invalide" in e.value for e in at.error)
    assert not at.get("form_submit_button")


def test_signed_in_secretariat_sees_history_tracker_and_all_observations(demo_env, admin_hash):
    at = sign_in(open_admin())
    assert signed_in(at) and at.get("file_uploader")
    history = next(df.value for df in at.dataframe if "file_name" in df.value.columns)
    runs = rows(demo_env, "select count(*) from load_runs")[0][0]
    assert len(history) == min(runs, 200)
    assert [tab.label for tab in at.tabs] == [
        "Charger une soumission",
        "Suivi des envois",
        "Historique des chargements",
        "Toutes les observations",
        "Bulletin",
    ]
    at.button(key="admin_sign_out").click().run()
    assert not signed_in(at) and at.get("form_submit_button")


def test_a_read_only_replica_says_so_instead_of_offering_an_upload(
    demo_env, admin_hash, monkeypatch
):
    from etl import publish

    monkeypatch.setattr(publish, "can_publish", lambda _path: False)
    at = sign_in(open_admin())
    assert signed_in(at) and not at.get("file_uploader")
    assert any("ne fait que lire la base" in w.value for w in at.warning)
    # What only needs reading is still there.
    assert [tab.label for tab in at.tabs][1:] == [
        "Suivi des envois",
        "Historique des chargements",
        "Toutes les observations",
        "Bulletin",
    ]
    assert any("file_name" in df.value.columns for df in at.dataframe)


def snapshot(db_path: Path) -> list:
    """What a load writes, without run ids, timestamps and the user name."""
    tables = [
        rows(db_path, f"select * exclude (load_id) from {name} order by all")
        for name in ("activity", "services", "observations")
    ]
    tables.append(
        rows(
            db_path,
            """select member_code, period_code, sha256, file_name, contact, date_envoi
               from submissions order by all""",
        )
    )
    tables.append(
        rows(
            db_path,
            """select kind, file_name, sha256, member_code, period_code, rows_accepted,
                      rows_rejected, status, message
               from load_runs where kind = 'soumission' order by run_id""",
        )
    )
    return tables


def test_upload_through_the_page_loads_what_the_command_line_loads(
    demo_db, admin_hash, tmp_path, monkeypatch
):
    workbook = write_workbook(tmp_path / "files" / FILE_NAME)
    cli_db = copy_database(demo_db, tmp_path / "cli")
    web_db = copy_database(demo_db, tmp_path / "web")
    before = snapshot(web_db)

    result = CliRunner().invoke(
        cli_app,
        ["charger", str(workbook), "--base", str(cli_db), "--rapport", str(tmp_path / "r.html")],
    )
    assert result.exit_code == 0, result.output

    monkeypatch.setenv("OBSERVATOIRE_DB", str(web_db))
    at = sign_in(open_admin())
    at.file_uploader(key="admin_file").set_value(
        (FILE_NAME, workbook.read_bytes(), "application/octet-stream")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("serait chargé" in s.value for s in at.success)
    assert snapshot(web_db) == before  # the check wrote nothing
    at.button(key="admin_confirm_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Fichier chargé" in s.value for s in at.success)

    assert snapshot(web_db) == snapshot(cli_db)
    assert snapshot(web_db) != before
    assert rows(
        web_db,
        "select count(*) from activity where member_code = ? and period_code = ?",
        [MEMBER, PERIOD],
    ) == [(3,)]
    assert rows(web_db, "select username from load_runs order by run_id desc limit 1") == [
        ("Anna",)
    ]
    # The history now lists the file.
    history = next(df.value for df in at.dataframe if "file_name" in df.value.columns)
    assert history["file_name"].iloc[0] == FILE_NAME


def _bad_workbook(path: Path) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("identification")
    sheet.write_row(0, 0, ["membre", "periode"])
    sheet.write_row(1, 0, [MEMBER, "2025-T2"])
    sheet = workbook.add_worksheet("activite")
    sheet.write_row(0, 0, ["theme", "commune", "personnes"])
    sheet.write_row(1, 0, ["alimentation", "Atlantis", 12])
    workbook.close()
    return path


def test_a_file_with_errors_shows_the_report_and_cannot_be_loaded(
    demo_db, admin_hash, tmp_path, monkeypatch
):
    web_db = copy_database(demo_db, tmp_path / "web")
    before = snapshot(web_db)
    monkeypatch.setenv("OBSERVATOIRE_DB", str(web_db))
    at = sign_in(open_admin())
    bad = _bad_workbook(tmp_path / "mauvais.xlsx")
    at.file_uploader(key="admin_file").set_value(("mauvais.xlsx", bad.read_bytes(), "x")).run()
    issues = next(df.value for df in at.table if "Problème et correction" in df.value.columns)
    assert list(issues[["Feuille", "Ligne(s)", "Colonne", "Valeur trouvée"]].iloc[0]) == [
        "activite",
        "2",
        "commune",
        "Atlantis",
    ]
    assert any("ne peut pas être chargé" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "admin_confirm_load"]
    assert snapshot(web_db) == before


def test_a_fake_workbook_is_refused_before_validation(demo_env, admin_hash):
    """Streamlit's widget already refuses other extensions; the content is checked here."""
    at = sign_in(open_admin())
    at.file_uploader(key="admin_file").set_value(("faux.xlsx", b"plain text", "x")).run()
    assert any("n'est pas un classeur Excel" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "admin_confirm_load"]
    assert not at.get("download_button")  # no report: nothing was validated


# --- the submission tracker -------------------------------------------------------------------------


def tracker(db_path: Path, year: int, today: dt.date, late_days: int = 60) -> dict:
    con = etl_db.open_reader(db_path)
    try:
        frame = etl_db.query(
            con,
            query_text("admin_submission_tracker"),
            {"year": year, "late_days": late_days, "today": today},
        )
    finally:
        con.close()
    return {(row["member_code"], row["period_code"]): row for row in frame.to_dicts()}


@pytest.fixture(scope="module")
def tracked_db(demo_db, tmp_path_factory) -> Path:
    """The demo, plus 2025-T1 loaded for the test member and a refused file for its 2025-T2."""
    directory = tmp_path_factory.mktemp("tracker")
    db_path = loaded_copy(demo_db, directory)
    from etl.submission.load import load_files

    results = load_files([_bad_workbook(directory / "refuse.xlsx")], db_path)
    assert results[0].status == "rejete"
    return db_path


def test_tracker_statuses_by_hand(tracked_db):
    """Hand-checked: 2025-T1 loaded, 2025-T2 refused, later quarters not due or late."""
    on_20_june = tracker(tracked_db, 2025, dt.date(2025, 6, 20))
    statuses = {
        period: on_20_june[(MEMBER, period)]["status"]
        for period in ("2025-T1", "2025-T2", "2025-T3", "2025-T4")
    }
    assert statuses == {
        "2025-T1": "recu",
        "2025-T2": "refuse",
        "2025-T3": "en_cours",
        "2025-T4": "en_cours",
    }
    assert on_20_june[(MEMBER, "2025-T1")]["personnes"] == 120 + 35 + 3
    assert on_20_june[(MEMBER, "2025-T1")]["rhythm"] == "trimestre"
    # 30 days after the end of Q3 (grace 60): expected; 93 days after: late.
    assert tracker(tracked_db, 2025, dt.date(2025, 10, 30))[(MEMBER, "2025-T3")]["status"] == (
        "attendu"
    )
    assert tracker(tracked_db, 2025, dt.date(2026, 1, 1))[(MEMBER, "2025-T3")]["status"] == (
        "en_retard"
    )


def test_tracker_counts_quarters_toward_the_year(tracked_db):
    """A member reporting yearly in 2024 but whose rhythm is read from its latest file."""
    year_2024 = tracker(tracked_db, 2024, dt.date(2025, 6, 20))
    # Every registered member has rows; those with a 2024 submission are received or partial.
    received = rows(
        tracked_db,
        """select distinct s.member_code from submissions s join periods p on p.code = s.period_code
           where p.year = 2024""",
    )
    for (member,) in received:
        member_rows = [row for key, row in year_2024.items() if key[0] == member]
        assert member_rows and all(row["status"] in ("recu", "partiel") for row in member_rows)


def test_tracker_can_show_only_the_submissions_to_chase(tracked_db, admin_hash, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_DB", str(tracked_db))
    at = sign_in(open_admin())
    at.selectbox(key="url_annee").set_value(2025).run()
    assert at.query_params["annee"] in ("2025", ["2025"])
    every = next(df.value for df in at.dataframe if "rhythm" in df.value.columns)
    at.toggle(key="url_a_relancer").set_value(True).run()
    chased = next(df.value for df in at.dataframe if "rhythm" in df.value.columns)
    assert set(chased["status"]) <= {"partiel", "refusé (à renvoyer)", "en retard"}
    # The test member's refused 2025-T2 is among them; its received 2025-T1 is not.
    mine = chased[
        chased["period"].isin(["2025-T1", "2025-T2"]) & chased["member"].str.contains("Rhône")
    ]
    assert list(mine["period"]) == ["2025-T2"]
    assert len(chased) < len(every)


OIDC_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "observatoire",
        "client_secret": "secret",
        "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
    },
    "admin": {"allowed_emails": ["secretariat@capas-ge.ch"]},
}


@pytest.mark.parametrize(
    ("email", "allowed"), [("Secretariat@CAPAS-ge.ch", True), ("eve@example.com", False)]
)
def test_oidc_sign_in_admits_only_the_allow_list(demo_env, monkeypatch, email, allowed):
    monkeypatch.delenv(auth.HASH_ENV_VAR, raising=False)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": email, "name": "Secrétariat"}
    at.run()
    at.switch_page("views/administration.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert signed_in(at) == allowed
    assert bool(at.get("file_uploader")) == allowed
    if not allowed:
        assert any("n'est pas autorisé" in w.value for w in at.warning)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(chromium_path() is None, reason="Chromium absent")
def test_the_secretariat_produces_the_quarterly_bulletin(demo_env, admin_hash):
    at = sign_in(open_admin())
    assert at.selectbox(key="admin_bulletin_quarter").value == "2024-T4"  # the latest first
    at.button(key="admin_bulletin").click().run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    assert any("bulletin-2024-T4" in s.value for s in at.success)
    files = {button.proto.label: button for button in at.get("download_button")}
    assert {"PDF", "HTML autonome", "Graphiques (PNG et SVG)"} <= set(files)
