"""The Données page in Chromium: a shared address reopens the selection, the downloaded files read
back equal to the preview, and the command line gives the same CSV for the same filters."""

from __future__ import annotations

import io

import polars as pl
from browser_support import open_page
from typer.testing import CliRunner

from etl import exports
from etl.cli import app

# Carouge (6608) and Onex (6631), food aid and all themes together, 2022–2024, persons and rates.
QUERY = (
    "debut=2022&fin=2024&theme=alimentation&theme=*&commune=6608&commune=6631"
    "&variable=personnes&variable=taux_pour_1000&variable=demandes_non_satisfaites"
)
SELECTION = exports.Selection(
    year_from=2022,
    year_to=2024,
    themes=("alimentation", "*"),
    communes=(6608, 6631),
    variables=("personnes", "taux_pour_1000", "demandes_non_satisfaites"),
)


def download(page, label: str) -> tuple[str, bytes]:
    button = page.get_by_test_id("stDownloadButton").filter(has_text=label).locator("button")
    with page.expect_download(timeout=60_000) as event:
        button.click()
    download = event.value
    return download.suggested_filename, open(download.path(), "rb").read()


def test_downloads_read_back_equal_to_the_preview(
    page, page_errors, dashboard_url, demo_db, tmp_path
):
    open_page(page, f"{dashboard_url}/donnees?{QUERY}")
    assert page_errors == []
    with exports.public_runner(demo_db) as run:
        expected = exports.extract(SELECTION, run)
        version = run("export_release")["version"].item()
    assert expected.height > 0
    # The page shows the same row count as the extraction for these filters.
    rows = page.get_by_test_id("stMetric").filter(has_text="Lignes")
    assert rows.get_by_test_id("stMetricValue").inner_text() == str(expected.height)

    name, content = download(page, "CSV")
    assert name.endswith(".csv") and version in name
    assert content.startswith(b"\xef\xbb\xbf")
    assert pl.read_csv(io.BytesIO(content), schema=expected.schema).equals(expected)

    name, content = download(page, "Excel")
    assert name.endswith(".xlsx")
    sheet = pl.read_excel(io.BytesIO(content), sheet_name="donnees")
    assert sheet.select(pl.col(c).cast(t) for c, t in expected.schema.items()).equals(expected)

    # The same filters on the command line give the very same CSV.
    result = CliRunner().invoke(
        app,
        [
            "exporter",
            "--base",
            str(demo_db),
            "--debut",
            "2022",
            "--fin",
            "2024",
            "--theme",
            "alimentation",
            "--theme",
            "*",
            "--commune",
            "Carouge",
            "--commune",
            "Onex",
            "--variable",
            "personnes",
            "--variable",
            "taux_pour_1000",
            "--variable",
            "demandes_non_satisfaites",
            "--sortie",
            str(tmp_path / "extrait.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "extrait.csv").read_bytes() == download(page, "CSV")[1]


def test_the_citation_carries_the_version_and_the_address(page, dashboard_url, demo_db):
    open_page(page, f"{dashboard_url}/donnees?{QUERY}")
    with exports.public_runner(demo_db) as run:
        version = run("export_release")["version"].item()
    citation = page.get_by_test_id("stCode").first.inner_text()
    assert version in citation
    assert "/donnees?" in citation and "debut=2022" in citation and "commune=6631" in citation
