"""The Besoins et lacunes map in Chromium: drawn offline, one shape per commune, a click opens the brief."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from browser_support import open_page, wait_rendered

CAROUGE = 6608
COMMUNES = set(range(6601, 6646))

# Each drawn shape carries its location in d3's __data__: the OFS number, or 'lac' for the lake.
DRAWN_LOCATIONS = """() => [...document.querySelectorAll('path.choroplethlocation')]
                        .map(path => path.__data__ && path.__data__.loc)"""

# A point of the screen inside the commune's shape. Plotly's geo maps take clicks on a background
# layer and find the location from the coordinates, so the point must lie inside the polygon.
CLICKABLE_POINT = """(ofs) => {
  const path = [...document.querySelectorAll('path.choroplethlocation')]
    .find(p => p.__data__ && p.__data__.loc === ofs);
  path.scrollIntoView({block: 'center'});
  const box = path.getBoundingClientRect();
  const toLocal = path.getScreenCTM().inverse();
  for (let fy = 0.5; fy > 0.05; fy -= 0.05) {
    for (const fx of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8]) {
      for (const y of [box.top + box.height * fy, box.top + box.height * (1 - fy)]) {
        const x = box.left + box.width * fx;
        const local = new DOMPoint(x, y).matrixTransform(toLocal);
        if (path.isPointInFill(local)) return {x, y};
      }
    }
  }
  return null;
}"""


def test_map_draws_the_45_communes_and_the_lake_offline(page, page_errors, dashboard_url):
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    open_page(page, f"{dashboard_url}/besoins-et-lacunes?valeur=rate")
    page.wait_for_selector("path.choroplethlocation")
    locations = page.evaluate(DRAWN_LOCATIONS)
    communes = [loc for loc in locations if loc != "lac"]
    assert len(communes) == 45 and set(communes) == COMMUNES  # each commune exactly once
    assert locations.count("lac") == 1
    assert page_errors == []
    # Nothing went to a CDN (the topojson stub is served locally).
    assert not [url for url in failed if "cdn.plot.ly" in url or "topojson" in url]


def test_clicking_a_commune_lands_on_its_brief(page, page_errors, dashboard_url):
    open_page(page, f"{dashboard_url}/besoins-et-lacunes")
    page.wait_for_selector("path.choroplethlocation")
    point = page.evaluate(CLICKABLE_POINT, CAROUGE)
    assert point is not None, "Carouge n'est pas cliquable sur la carte"
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/fiche-communale?**", timeout=60_000)
    wait_rendered(page)
    assert parse_qs(urlparse(page.url).query)["commune"] == [str(CAROUGE)]
    assert page.locator("h1").first.inner_text() == "Fiche communale\u00a0: Carouge"
    assert page_errors == []


# The coverage state of each commune drawn on the Couverture map: 2 local, 1 canton-wide only, 0 none.
DRAWN_STATES = """() => [...document.querySelectorAll('path.choroplethlocation')]
                     .filter(path => path.__data__ && path.__data__.loc !== 'lac')
                     .map(path => path.__data__.z)"""


def test_coverage_page_shows_white_zones(page, page_errors, dashboard_url):
    open_page(page, f"{dashboard_url}/couverture?theme=alimentation")
    page.wait_for_selector("path.choroplethlocation")
    summary = page.get_by_text("n'ont pas de service local (zones blanches)").first.inner_text()
    white = int(summary.split(" cases")[0].replace("\u202f", "").replace(" ", ""))
    assert white > 0
    states = page.evaluate(DRAWN_STATES)
    assert len(states) == 45
    # rural communes without a food-aid point of their own: canton-wide services only, or none
    assert any(state in (0, 1) for state in states)
    assert page_errors == []
