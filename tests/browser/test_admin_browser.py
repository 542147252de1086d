"""The Administration page in Chromium: sign in, upload a member's file, read the report, load it,
find it in the history; and non-public observations absent from the public pages' browser view."""

from __future__ import annotations

from pathlib import Path

import pytest
from admin_support import PUBLIC_TEXT, SECRET_MARKER, loaded_copy, rows, write_workbook
from browser_support import open_page, wait_rendered
from servers import free_port, streamlit_server

from dashboard.auth import HASH_ENV_VAR, hash_password

PASSWORD = "un mot de passe de test assez long"
UPLOAD_PERIOD = "2025-T2"
UPLOAD_NAME = f"Paniers Solidaires {UPLOAD_PERIOD}.xlsx"


@pytest.fixture(scope="module")
def admin_server(demo_db, tmp_path_factory) -> tuple[str, Path, Path]:
    """A server of its own on a private copy of the demo (this module writes to its database),
    with the admin password hash in the environment, as docs/ADMIN.md describes."""
    directory = tmp_path_factory.mktemp("browser-admin")
    db_path = loaded_copy(demo_db, directory)
    upload = write_workbook(directory / "upload" / UPLOAD_NAME, period=UPLOAD_PERIOD)
    port = free_port()
    env = {HASH_ENV_VAR: hash_password(PASSWORD, iterations=20_000)}
    with streamlit_server(
        port, db_path=db_path, log_path=directory / "streamlit.log", extra_env=env, timeout=90
    ):
        yield f"http://127.0.0.1:{port}", db_path, upload


def settle(page) -> None:
    """After a click: let the rerun start, then wait for it to finish."""
    page.wait_for_timeout(400)
    wait_rendered(page)


def test_sign_in_upload_report_load_history(page, admin_server, page_errors):
    url, db_path, upload = admin_server
    open_page(page, f"{url}/administration")
    assert page.get_by_role("button", name="Se connecter").is_visible()
    assert page.locator('[data-testid="stFileUploader"]').count() == 0

    page.get_by_label("Votre nom").fill("Test navigateur")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    settle(page)
    assert page.get_by_text("Connecté·e").is_visible()

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    load_button = page.get_by_role("button", name="Charger ce fichier dans la base")
    load_button.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_text("Rapport de validation").is_visible()
    assert page.get_by_text("serait chargé").first.is_visible()
    assert rows(
        db_path, "select count(*) from submissions where period_code = ?", [UPLOAD_PERIOD]
    ) == [(0,)]

    load_button.click()
    page.get_by_text("Fichier chargé").first.wait_for(timeout=60_000)
    settle(page)
    assert rows(
        db_path,
        "select file_name from submissions where member_code = 'DEMO-ALIM-01' and period_code = ?",
        [UPLOAD_PERIOD],
    ) == [(UPLOAD_NAME,)]

    page.get_by_role("tab", name="Historique des chargements").click()
    history = page.locator('[data-testid="stDataFrame"]').filter(has_text="Test navigateur")
    history.get_by_text(UPLOAD_NAME).first.wait_for(state="attached", timeout=30_000)
    assert not page_errors


@pytest.mark.parametrize("path", ["remontees?commune=6608", "fiche-communale?commune=6608"])
def test_non_public_observation_absent_from_the_browser_view(page, admin_server, page_errors, path):
    url, _, _ = admin_server
    open_page(page, f"{url}/{path}")
    content = page.content()
    assert SECRET_MARKER not in content
    assert PUBLIC_TEXT.split()[-1] in content  # the public one of the same file is there
    assert not page_errors


GENERATED = """([selector, pseudo]) => {
    const element = document.querySelector(selector);
    return element ? getComputedStyle(element, pseudo).content : null;
}"""


@pytest.mark.parametrize(
    ("lang", "button", "limits"),
    [
        ("fr", "Choisir un fichier", "10 Mo au plus par fichier • XLSX, CSV"),
        ("en", "Choose a file", "10 MB at most per file • XLSX, CSV"),
    ],
)
def test_the_uploader_speaks_the_page_language(
    page, admin_server, page_errors, lang, button, limits
):
    """Streamlit's « Upload » and « 10MB per file » are hidden and replaced (CSS content)."""
    url, _, _ = admin_server
    open_page(page, f"{url}/administration?lang={lang}")
    page.locator('input[type="text"]').first.fill("Test navigateur")
    page.locator('input[type="password"]').fill(PASSWORD)
    page.locator('[data-testid="stBaseButton-primaryFormSubmit"]').click()
    settle(page)
    uploader = page.locator(".st-key-admin_file")
    uploader.wait_for()
    assert not uploader.get_by_text("Upload", exact=True).is_visible()
    assert not uploader.get_by_text("10MB per file", exact=False).is_visible()
    drop = '.st-key-admin_file [data-testid="stFileUploaderDropzone"]'
    label = f'{drop} button [data-testid="stMarkdownContainer"]'
    hint = '.st-key-admin_file [data-testid="stFileUploaderDropzoneInstructions"] > div'
    assert page.evaluate(GENERATED, [label, "::after"]) == f'"{button}"'
    assert page.evaluate(GENERATED, [hint, "::after"]) == f'"{limits}"'
    assert page.locator(f"{drop} button").evaluate("b => b.getBoundingClientRect().width") > 60
    assert not page_errors
