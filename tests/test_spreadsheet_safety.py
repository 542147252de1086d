"""Every CSV download has one format and no cell a spreadsheet would run (issue #14 item 12).

- The CSV inside the researchers' ZIP has the UTF-8 BOM of the standalone CSV (Excel garbled its
  accents without it), and so has the dictionary beside it.
- Formula neutralisation catches the whole class of formula starters (OWASP « CSV Injection »):
  = + - @, also after spaces, line breaks or invisible characters, in their full-width forms, and a
  cell starting with a tab, CR or LF.
- The directory's and the field observations' CSV downloads are built by the export module, so they
  get both (they were built by their pages, without the wider neutralisation and with LF ends).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import polars as pl
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from test_reliability_support import APP

from etl import exports

BOM = b"\xef\xbb\xbf"

DANGEROUS = [
    "=1+2",
    "+41 22",
    "-x",
    "@SUM(A1)",
    "\tcmd",
    "\rcmd",
    "\ncmd",
    " =1+2",  # a leading space: spreadsheets skip it
    "   +cmd",
    '\n=HYPERLINK("http://evil.example")',
    "\r\n=1",
    "\u00a0=1",  # no-break space
    "\u3000=1",  # ideographic space
    "\u200b=1",  # zero-width space
    "\ufeff@cmd",  # a BOM inside a cell
    "＝1+2",  # full-width equals sign
    "＋1",
    "－1",
    "＠SUM(A1)",
    " ＝1",
]
HARMLESS = ["a=b", "Onex", "e-mail", "Chêne-Bourg", "1 = 1", "x@y.ch", "", "« =1 »"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_every_formula_start_is_neutralised(text):
    out = exports.neutralise_formulas(pl.DataFrame({"texte": [text]}))
    assert out["texte"].to_list() == ["'" + text]


def test_harmless_texts_and_numbers_are_kept_as_they_are():
    frame = pl.DataFrame({"texte": [*HARMLESS, None], "nombre": list(range(-1, len(HARMLESS)))})
    out = exports.neutralise_formulas(frame)
    assert out["texte"].to_list() == [*HARMLESS, None]
    assert out["nombre"].to_list() == frame["nombre"].to_list()


def test_the_csv_in_the_zip_is_the_standalone_csv(demo_runner, demo_options):
    selection = exports.Selection(2023, 2024, themes=("alimentation",), communes=(6631,))
    frame = exports.extract(selection, demo_runner, demo_options)
    meta = exports.metadata(
        selection, demo_runner, demo_options, extracted_at=dt.datetime(2026, 12, 6, 9, 0)
    )
    with zipfile.ZipFile(io.BytesIO(exports.to_zip(frame, meta))) as archive:
        inside = archive.read("activite.csv")
        dictionary = archive.read("dictionnaire.csv")
    assert inside == exports.to_csv(frame)
    assert inside.startswith(BOM + b"annee,") and b"\r\n" in inside
    assert dictionary.startswith(BOM)
    assert "Aide alimentaire" in inside.decode("utf-8-sig")


@pytest.fixture
def demo_runner(demo_db):
    with exports.public_runner(demo_db) as run:
        yield run


@pytest.fixture
def demo_options(demo_runner):
    return exports.load_options(demo_runner)


# --- the pages' downloads ------------------------------------------------------------------------------


@pytest.fixture
def media(monkeypatch):
    """Every file offered for download during the AppTest runs of a test, by button label."""
    stores: list[MemoryMediaFileStorage] = []

    class Capturing(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Capturing)
    return lambda url: stores[-1].get_file(url.rsplit("/", 1)[-1]).content


def page_csv(page: str, media) -> bytes:
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    # The page's own CSV export (each chart's data has its CSV too, under « Données du graphique »).
    (button,) = [
        b
        for b in at.get("download_button")
        if "CSV" in b.proto.label and "graphique" not in b.proto.label
    ]
    return media(button.proto.url)


@pytest.mark.parametrize("page", ["views/qui_fait_quoi.py", "views/remontees.py"])
def test_page_csv_downloads_are_the_export_modules_csv(page, demo_env, media):
    content = page_csv(page, media)
    assert content.startswith(BOM)
    lines = content.split(b"\n")
    assert all(line.endswith(b"\r") for line in lines[:-1]) and lines[-1] == b""
    frame = pl.read_csv(io.BytesIO(content), infer_schema=False)
    assert frame.height > 0
    # Read back and written again by the export module: the same bytes (nothing left to neutralise).
    assert exports.to_csv(frame) == content
