"""Every chart can be taken away (issue #17): PNG and SVG drawn by plotly.js in the browser, the
chart's data as CSV, a citation with the version and the view's address; the map's keyboard path;
focus visible; phone layouts that keep the figures in view."""

from __future__ import annotations

import csv
import io
import struct
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser_support import open_page, wait_rendered

from dashboard.app import PAGES, VIEWS_DIR
from etl import exports, release
from etl.public import open_public_reader


def most_published_communes(demo_db) -> list[tuple[str, str, int]]:
    """The two communes whose yearly persons totals are published in the most years, as (OFS
    number, name, years published): disclosure control withholds many others (a small commune's
    total protects its small counts, on the small test demo often every year)."""
    con = open_public_reader(release.current(demo_db).public)
    try:
        return con.execute(
            """select a.lieu, any_value(c.name), count(*) filter (where not a.personnes_supprime)
               from public.activity_year_cube a
               join public.communes c on c.ofs_number::varchar = a.lieu
               where a.theme = '*' and a.category = '*'
               group by a.lieu order by 3 desc, a.lieu limit 2"""
        ).fetchall()
    finally:
        con.close()


def download(page, button_name: str) -> tuple[str, bytes]:
    """Open the chart's « Télécharger » menu if needed, click `button_name`, read the file."""
    button = page.get_by_role("button", name=button_name, exact=True)
    if not button.is_visible():
        page.get_by_role("button", name="Télécharger").first.click()
        button.wait_for(state="visible")
    with page.expect_download(timeout=30_000) as event:
        button.click()
    return event.value.suggested_filename, Path(event.value.path()).read_bytes()


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", content[16:24])


def release_version(demo_db) -> str:
    with exports.public_runner(demo_db) as run:
        return run("export_release")["version"].item()


def test_chart_downloads_read_back(page, page_errors, dashboard_url, demo_db):
    (first, first_name, first_years), (second, second_name, second_years) = most_published_communes(
        demo_db
    )
    assert first_years > 0 and second_years > 0
    trends = f"tendances?ventilation=lieu&communes={first}&communes={second}&mesure=rate"
    open_page(page, f"{dashboard_url}/{trends}")
    title = "Personnes servies pour 1 000 habitants par commune, 2019–2024"
    assert page.get_by_role("heading", name=title).is_visible()

    name, content = download(page, "Image PNG")
    width, height = png_size(content)
    assert name == "personnes-servies-pour-1-000-habitants-par-commune-2019-2024.png"
    assert width >= 2 * 900 and height > 2 * 400  # drawn at twice the size, readable in print

    name, content = download(page, "Image SVG")
    assert name.endswith(".svg")
    svg = ElementTree.fromstring(content)
    texts = " ".join(svg.itertext())
    # The image carries its title, its source and the database version, and the two series.
    assert "Personnes servies pour 1" in texts and "Source" in texts
    assert release_version(demo_db) in texts
    assert first_name in texts and second_name in texts

    name, content = download(page, "Données du graphique (CSV)")
    assert name.endswith(".csv") and content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert {row["Série"] for row in rows} == {first_name, second_name}
    assert len(rows) == 2 * 6  # two communes, six years, withheld ones included…
    rates = [row["Taux pour 1 000 habitants"] for row in rows]
    published = [rate for rate in rates if rate]
    assert len(published) == first_years + second_years  # …and empty
    assert all(float(rate) > 0 for rate in published)
    assert all(row["Valeur"] == "" for row in rows if not row["Taux pour 1 000 habitants"])

    page.keyboard.press("Escape")
    page.get_by_role("button", name="Citer").first.click()
    citation = page.get_by_test_id("stCode").first.inner_text()
    assert title in citation and release_version(demo_db) in citation
    assert (
        "/tendances?" in citation and f"communes={second}" in citation and "mesure=rate" in citation
    )
    assert page_errors == []


def test_map_has_a_keyboard_path_to_the_briefs(page, page_errors, dashboard_url):
    """Without a mouse: Tab to the « Tableau » view, open it, Tab to a commune's link, Enter."""
    open_page(page, f"{dashboard_url}/besoins-et-lacunes")
    chart = page.locator('.st-key-besoins_map [data-testid="stPlotlyChart"]').first
    assert (
        chart.get_attribute("aria-label")
        or page.locator(".st-key-besoins_map [aria-label]").count()
    )
    table_view = page.get_by_role("radio", name="Tableau")
    table_view.focus()
    # The focused control shows where the keyboard is (WCAG 2.4.7).
    outline = table_view.evaluate("el => getComputedStyle(el).outlineWidth")
    page.keyboard.press("Enter")
    page.wait_for_timeout(400)
    wait_rendered(page)
    assert "vue=tableau" in page.url
    link = page.locator(".link-table a").first
    for _ in range(60):  # Tab through the controls until the first commune's link
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement?.closest('.link-table') !== null"):
            break
    assert page.evaluate("() => document.activeElement?.closest('.link-table') !== null")
    focused = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert focused != "none" and float(outline.replace("px", "") or 0) >= 2
    name = link.inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url("**/fiche-communale?**", timeout=60_000)
    wait_rendered(page)
    assert urlparse(page.url).query.startswith("commune=")
    assert page.locator("h1").first.inner_text().endswith(name)
    assert page_errors == []


PHONE = {"width": 390, "height": 844}
PAGE_PATHS = [spec.url_path for spec in PAGES if (VIEWS_DIR / spec.file).exists()]


@pytest.mark.parametrize(
    ("path", "figure"),
    [
        ("vue-d-ensemble", '[data-testid="stMetricValue"]'),
        ("fiche-communale", "table.profile td.num"),
        ("tendances", '[data-testid="stPlotlyChart"]'),
        # One series chosen (Onex, all themes): its card and history chart.
        ("signaux?theme=*&lieu=6631", '[data-testid="stPlotlyChart"]'),
    ],
)
def test_phone_layouts_keep_the_figures_in_view(page, page_errors, dashboard_url, path, figure):
    """On a 390 px phone the page does not overflow sideways and its figures are on screen."""
    page.set_viewport_size(PHONE)
    open_page(page, f"{dashboard_url}/{path}")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    first = page.locator(figure).first
    first.scroll_into_view_if_needed()
    box = first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1
    if path == "fiche-communale":
        # every visible column of the profile fits the phone's width, the comparison included
        cells = page.evaluate(
            """() => [...document.querySelectorAll('table.profile tbody tr:first-child td')]
                 .filter(cell => cell.offsetParent !== null)
                 .map(cell => cell.getBoundingClientRect().right)"""
        )
        assert cells and max(cells) <= PHONE["width"]
    assert page_errors == []
