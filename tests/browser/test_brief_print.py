"""The commune brief on paper (issue #17): Ctrl+P on the page and the PDF button both give at most
three A4 pages, for the largest commune (Genève) and the smallest, with every chart and profile
table inside the printable width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import open_page

from etl import db as etl_db

MAX_PAGES = 3
A4_WIDTH_PX = 794  # 210 mm at 96 px per inch
GENEVE = 6621
# Chromium's default print margins (about 10 mm each side) leave this much width for the page.
PRINTABLE_WIDTH_PX = A4_WIDTH_PX - 2 * 38


def smallest_commune(demo_db) -> int:
    con = etl_db.open_reader(demo_db)
    try:
        return etl_db.query(
            con,
            "select ofs_number from public.population where year = (select max(year) "
            "from public.population) order by population, ofs_number limit 1",
        ).item()
    finally:
        con.close()


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


# The printed column and every chart and table in it, laid out for print: left and right edges.
DRAWN_BOXES = """() => {
  const edges = element => { const box = element.getBoundingClientRect();
                             return {left: box.left, right: box.right}; };
  const column = document.querySelector('.st-key-fiche_document');
  const drawn = [...document.querySelectorAll(
      '[data-testid="stPlotlyChart"] svg.main-svg, table.profile, .link-table table, img')];
  return {column: edges(column), drawn: drawn.map(edges)};
}"""


@pytest.fixture(scope="module")
def communes(demo_db) -> list[int]:
    return [GENEVE, smallest_commune(demo_db)]


@pytest.mark.timeout(400)
def test_brief_prints_on_three_pages_with_nothing_clipped(
    page, page_errors, dashboard_url, communes
):
    for ofs in communes:
        page.set_viewport_size({"width": 1440, "height": 900})
        open_page(page, f"{dashboard_url}/fiche-communale?commune={ofs}")
        # Ctrl+P: the page's own print layout.
        page.emulate_media(media="print")
        printed = page.pdf(format="A4", print_background=True)
        assert 1 <= page_count(printed) <= MAX_PAGES, (ofs, page_count(printed))
        # The printed column is no wider than the paper, and nothing sticks out of it (charts
        # drawn wider than the paper were cut on the right).
        boxes = page.evaluate(DRAWN_BOXES)
        column = boxes["column"]
        assert column["right"] - column["left"] <= PRINTABLE_WIDTH_PX
        assert len(boxes["drawn"]) >= 5  # profile tables, spines, the trend chart, services
        for box in boxes["drawn"]:
            assert column["left"] - 1 <= box["left"] and box["right"] <= column["right"] + 1, box
        page.emulate_media(media="screen")

        # The PDF button: the exported brief, printed by Chromium on the server.
        page.set_viewport_size({"width": 1440, "height": 900})
        button = page.get_by_test_id("stDownloadButton").filter(has_text="PDF").locator("button")
        with page.expect_download(timeout=90_000) as event:
            button.click()
        exported = Path(event.value.path()).read_bytes()
        assert exported.startswith(b"%PDF")
        assert 1 <= page_count(exported) <= MAX_PAGES, (ofs, page_count(exported))
    assert page_errors == []


def test_html_brief_is_built_on_click_in_the_visitors_language(page, page_errors, dashboard_url):
    """The HTML brief is built when its button is clicked (#19: not at every run), on a server
    thread outside the visitor's run: it is still in the page's language."""
    for lang, title in (("en", "Commune brief: Carouge"), ("fr", "Fiche communale\u00a0: Carouge")):
        open_page(page, f"{dashboard_url}/fiche-communale?commune=6608&lang={lang}")
        button = page.get_by_test_id("stDownloadButton").filter(has_text="HTML").locator("button")
        with page.expect_download(timeout=90_000) as event:
            button.first.click()
        html = Path(event.value.path()).read_text(encoding="utf-8")
        assert html.startswith(f'<!DOCTYPE html><html lang="{lang}">')
        assert f"<h1>{title}</h1>" in html
    assert page_errors == []
