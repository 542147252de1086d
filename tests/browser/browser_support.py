"""Helpers of the browser tests: wait until a Streamlit page is rendered, open a page."""

from __future__ import annotations

# Streamlit's "done" signal: the script finished and nothing is still loading.
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLOTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                   .every(chart => chart.querySelector('svg.main-svg'))"""


def wait_rendered(page, timeout_ms: int = 60_000) -> None:
    """Until the script has run, the skeletons are gone and every Plotly chart is drawn."""
    page.wait_for_selector(SCRIPT_DONE, state="attached", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout_ms)
    page.wait_for_function(PLOTS_DRAWN, timeout=timeout_ms)
    page.wait_for_timeout(300)
    # A rerun may have started meanwhile (a widget writing the URL): wait for it too.
    page.wait_for_selector(SCRIPT_DONE, state="attached", timeout=timeout_ms)


def open_page(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_rendered(page)


SERIOUS_IMPACTS = ("serious", "critical")


def axe_problems(page) -> list[str]:
    """The serious and critical WCAG violations that axe-core finds on the page, one line each.

    axe-core comes bundled in axe-playwright-python (no npm, no CDN); it checks the WCAG 2.1 A/AA
    rules that can be checked automatically (contrast, names, roles, landmarks, focusable regions…).
    """
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"resultTypes": ["violations"]})
    return [
        f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])}): "
        f"{violation['nodes'][0]['target']} — {violation['help']}"
        for violation in result.response["violations"]
        if violation["impact"] in SERIOUS_IMPACTS
    ]


# Charts without a text alternative (Streamlit renders `alt` as the chart's aria-label).
CHARTS_WITHOUT_TEXT = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
  .filter(chart => !(chart.getAttribute('aria-label') || '').trim()).length"""
