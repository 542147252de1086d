"""Every page in a real browser; the language switch; a copied address reopens the same view."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from browser_support import open_page, wait_rendered

from dashboard.app import PAGES, VIEWS_DIR

PAGE_PATHS = [spec.url_path for spec in PAGES if (VIEWS_DIR / spec.file).exists()]


def assert_no_streamlit_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.parametrize("url_path", PAGE_PATHS)
def test_every_page_loads_without_errors(page, page_errors, dashboard_url, url_path):
    open_page(page, f"{dashboard_url}/{url_path}")
    assert page_errors == []
    assert_no_streamlit_exception(page)
    assert page.locator("h1").first.is_visible()
    assert page.get_by_text("Données de démonstration").first.is_visible()
    # Every page answers at its own address (the default page too, not a fallback to the root).
    assert page.get_by_text("Page not found").count() == 0


def test_language_switch_changes_labels(page, page_errors, dashboard_url):
    open_page(page, dashboard_url)
    assert page.locator("h1").first.inner_text() == "Vue d'ensemble"
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("English", exact=True).click()
    page.wait_for_function("() => document.querySelector('h1')?.innerText === 'Overview'")
    wait_rendered(page)
    assert parse_qs(urlparse(page.url).query).get("lang") == ["en"]
    assert sidebar.get_by_text("Trends", exact=True).is_visible()
    assert page.get_by_text("Persons served").first.is_visible()
    # The language follows to another page.
    sidebar.get_by_text("Trends", exact=True).click()
    page.wait_for_function("() => document.querySelector('h1')?.innerText === 'Trends'")
    wait_rendered(page)
    assert "lang=en" in page.url
    assert page_errors == []


def test_copied_address_reopens_the_same_view(page, context, page_errors, dashboard_url):
    open_page(page, f"{dashboard_url}/tendances?ventilation=lieu&communes=6621&communes=6643")
    multiselect = page.get_by_test_id("stMultiSelect")
    assert multiselect.get_by_text("Genève", exact=True).is_visible()
    assert multiselect.get_by_text("Vernier", exact=True).is_visible()
    # Change two filters with the mouse: the address follows.
    page.get_by_text("Taux ‰", exact=True).click()
    page.wait_for_function("() => location.search.includes('mesure=rate')")
    wait_rendered(page)
    page.get_by_text("Trimestriel", exact=True).click()
    page.wait_for_function("() => location.search.includes('pas=quarter')")
    wait_rendered(page)
    copied = page.url

    reopened = context.new_page()
    reopened.on("pageerror", lambda error: page_errors.append(str(error)))
    open_page(reopened, copied)
    for label in ("Genève", "Vernier"):
        assert reopened.get_by_test_id("stMultiSelect").get_by_text(label, exact=True).is_visible()
    assert reopened.get_by_role("radio", name="Taux ‰").is_checked()
    assert reopened.get_by_role("radio", name="Trimestriel").is_checked()
    assert reopened.locator('[data-testid="stPlotlyChart"] .scatterlayer .trace').count() == 2
    assert page_errors == []


def test_coverage_grid_scrolls_sideways_on_a_phone(page, page_errors, dashboard_url):
    """45 communes cannot be read in a phone's width: the grid keeps a readable width and scrolls
    inside its frame; the page itself does not overflow."""
    page.set_viewport_size({"width": 390, "height": 900})
    open_page(page, f"{dashboard_url}/couverture")
    frame = page.locator('[class*="st-key-wide_chart_couverture_heatmap"]')
    drawn = frame.locator("svg.main-svg").first.bounding_box()
    assert drawn["width"] >= 700  # about 10 px a commune (the page sets 760), not squeezed to 390
    assert frame.evaluate("el => el.scrollWidth > el.clientWidth")  # it scrolls…
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"
    )  # …alone
    assert page_errors == []
