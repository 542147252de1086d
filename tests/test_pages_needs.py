"""Besoins et lacunes, Couverture thématique and Fiche communale in AppTest, on known figures.

The database is tests/needs_data.py (real reference data, a few activity rows): the numbers the
pages show are checked against values computed here.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from html import escape
from pathlib import Path

import polars as pl
import pytest
from needs_data import (
    ALIMENTATION_CANTON,
    ANIERES,
    CAROUGE,
    GENEVE,
    LANCY,
    ONEX,
    THONEX,
    YEAR,
    build_needs_db,
)
from streamlit.testing.v1 import AppTest

from dashboard import brief_export, i18n
from dashboard.components import needs
from dashboard.i18n import SUPPRESSED, fmt_decimal
from etl import db as etl_db

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def needs_db(tmp_path_factory):
    return build_needs_db(tmp_path_factory.mktemp("needs_pages") / "observatoire.duckdb")


@pytest.fixture(autouse=True)
def use_needs_db(needs_db, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_DB", str(needs_db))
    yield


@pytest.fixture(scope="module")
def populations(needs_db) -> dict[int, int]:
    con = etl_db.open_reader(needs_db)
    try:
        frame = etl_db.query(
            con,
            "select ofs_number, population from population where year = ? and is_reference",
            [YEAR],
        )
    finally:
        con.close()
    return dict(frame.iter_rows())


def open_app(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page(f"views/{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def spec(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def commune_traces(figure: dict) -> dict[int, tuple[float, str]]:
    """Every commune drawn on the map: OFS number → (value or None when grey, tooltip)."""
    drawn = {}
    for trace in figure["data"]:
        if trace["name"] == "communes":
            drawn.update(
                {
                    ofs: (z, text)
                    for ofs, z, text in zip(
                        trace["locations"], trace["z"], trace["text"], strict=True
                    )
                }
            )
        elif trace["name"] == "communes_sans_valeur":
            drawn.update(
                {
                    ofs: (None, text)
                    for ofs, text in zip(trace["locations"], trace["text"], strict=True)
                }
            )
    return drawn


# --- Besoins et lacunes -------------------------------------------------------------------------------


def test_map_draws_every_commune_once_and_the_lake(populations):
    at = open_app("besoins.py", annee=str(YEAR), valeur="rate")
    figure = spec(at)
    drawn = commune_traces(figure)
    assert sorted(drawn) == list(range(6601, 6646))
    lake = [trace for trace in figure["data"] if trace["name"] == "lac"]
    assert len(lake) == 1 and lake[0]["locations"] == ["lac"]
    # offline: the geo base map is hidden and fitted to the shapes
    assert figure["layout"]["geo"]["visible"] is False
    assert figure["layout"]["geo"]["fitbounds"] == "locations"


def test_map_rates_and_tooltips(populations):
    at = open_app("besoins.py", annee=str(YEAR), valeur="rate", theme="alimentation")
    drawn = commune_traces(spec(at))
    rate, tooltip = drawn[CAROUGE]
    assert rate == pytest.approx(30 / populations[CAROUGE] * 1000)
    assert "Carouge" in tooltip and "Personnes servies : 30" in tooltip
    assert fmt_decimal(rate, 1, lang="fr") in tooltip and "IC 95 %" in tooltip
    # withheld: grey, 'X', no rate (never « < 5 »: a withheld cell may hold any count)
    value, tooltip = drawn[ONEX]
    assert value is None and "X" in tooltip and "< 5" not in tooltip and "&lt;" not in tooltip
    # Thônex's 2024 population is carried forward: said in the tooltip, rate starred
    _, tooltip = drawn[THONEX]
    assert "population estimée" in tooltip
    assert fmt_decimal(12 / populations[THONEX] * 1000, 1, lang="fr") + "*" in tooltip


def test_gap_map_and_under_served_list(populations):
    at = open_app("besoins.py", annee=str(YEAR), theme="alimentation")
    figure = spec(at)
    gaps = needs.load_commune_gaps("alimentation", YEAR)
    lancy = gaps.filter(pl.col("ofs_number") == LANCY).row(0, named=True)
    # Lancy: nobody served where some are expected, drawn at the bottom of the log scale, and its
    # tooltip says where it falls against the adjusted limits
    assert commune_traces(figure)[LANCY][0] == pytest.approx(-2.0)
    assert needs_flag_text(lancy["gap_flag"]) in commune_traces(figure)[LANCY][1]
    flagged = gaps.filter(pl.col("under_served"))
    if flagged.is_empty():
        assert any("Aucune commune" in info.value for info in at.info)
        return
    under = at.dataframe[0].value
    assert len(under) == flagged.height
    # ranked: beyond 99.8 % first, then by increasing ratio
    rank = {"bas_998": 0, "bas_95": 1}
    expected_order = sorted(
        flagged.to_dicts(), key=lambda row: (rank[row["gap_flag"]], row["gap_ratio"], row["name"])
    )
    assert [name.rstrip("*") for name in under["commune"]] == [r["name"] for r in expected_order]
    # the ratio with its Poisson interval, the count's precision (the flag uses the funnel limits)
    if lancy["under_served"]:
        row = under[under["commune"].str.rstrip("*") == "Lancy"].iloc[0]
        low = fmt_decimal(lancy["gap_lower"], 2, "fr")
        high = fmt_decimal(lancy["gap_upper"], 2, "fr")
        assert row["ratio"] == f"0,00 ({low}–{high})"
    # The counts behind the ratio are in the map's data (CSV and table view).
    assert lancy["persons"] == 0 and lancy["expected"] > 0


def needs_flag_text(flag: str) -> str:
    return i18n.t(f"needs.flag.{flag}", lang="fr")


def test_funnel_plot_draws_limits_and_opens_a_brief(populations):
    at = open_app("besoins.py", annee=str(YEAR), theme="alimentation")
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    funnel = next(c for c in charts if c["layout"].get("xaxis", {}).get("type") == "log")
    limits = [trace for trace in funnel["data"] if trace["mode"] == "lines"]
    assert len(limits) == 4  # 95 % and 99.8 %, upper and lower
    points = {
        ofs: y
        for trace in funnel["data"]
        if trace["mode"] == "markers"
        for ofs, y in zip(trace["customdata"], trace["y"], strict=True)
    }
    carouge = (
        needs.load_commune_gaps("alimentation", YEAR)
        .filter(pl.col("ofs_number") == CAROUGE)
        .row(0, named=True)
    )
    assert points[CAROUGE] == pytest.approx(carouge["gap_ratio"])
    assert ONEX not in points  # withheld count: no point
    at.session_state["besoins_funnel"] = {"selection": {"points": [{"customdata": CAROUGE}]}}
    at.run()
    assert not at.exception


def chart_alts(at: AppTest) -> list[str]:
    """The text alternative (aria-label) of every chart on the page."""
    return [chart.proto.alt for chart in at.get("plotly_chart")]


def test_funnel_plot_and_coverage_map_take_away():
    """The gap analysis' new charts go through the take-away component: a text alternative that
    says what they show (title and summary), a CSV and a citation."""
    at = open_app("besoins.py", annee=str(YEAR), theme="alimentation")
    gaps = needs.load_commune_gaps("alimentation", YEAR)
    assessed = gaps.filter(pl.col("gap_flag") != "non_evalue").height
    below = gaps.filter(pl.col("gap_flag").is_in(["bas_998", "bas_95"])).height
    funnel_alt = next(alt for alt in chart_alts(at) if "Graphique en entonnoir" in alt)
    assert funnel_alt.startswith(f"Graphique en entonnoir — Aide alimentaire, {YEAR}. ")
    assert f"sur {assessed} communes évaluées, {below} sont sous la limite" in funnel_alt
    keys = {button.proto.id for button in at.get("download_button")}
    assert any("besoins_funnel_csv" in key for key in keys)
    # Couverture: the food-aid map. By hand (needs_data): the Carouge grocery is located in
    # Carouge and names Onex, no food-aid service covers the whole canton: 2 local, 0, 43 none.
    at = open_app("couverture.py", annee=str(YEAR), theme="alimentation")
    map_alt = next(alt for alt in chart_alts(at) if "Couverture des communes" in alt)
    assert map_alt.startswith(f"Couverture des communes — Aide alimentaire, {YEAR}. ")
    assert "2 avec un service local, 0 seulement desservies" in map_alt
    assert "43 sans aucun service" in map_alt
    keys = {button.proto.id for button in at.get("download_button")}
    assert any("couverture_map_csv" in key for key in keys)


def test_clicking_a_commune_opens_its_brief():
    at = open_app("besoins.py", annee=str(YEAR))
    at.session_state["besoins_map"] = {"selection": {"points": [{"location": CAROUGE}]}}
    at.run()
    assert not at.exception
    assert at.query_params["commune"] in (str(CAROUGE), [str(CAROUGE)])
    assert at.title[0].value == "Fiche communale\u00a0: Carouge"


def test_map_page_in_english():
    at = open_app("besoins.py", annee=str(YEAR), valeur="rate", lang="en")
    assert at.title[0].value == "Needs and gaps"
    _, tooltip = commune_traces(spec(at))[CAROUGE]
    assert "Persons served: 30" in tooltip and "95% CI" in tooltip


def test_unmet_requests_per_thousand(populations):
    at = open_app("besoins.py", annee=str(YEAR), valeur="unmet", theme="alimentation")
    drawn = commune_traces(spec(at))
    assert drawn[CAROUGE][0] == pytest.approx(6 / populations[CAROUGE] * 1000)
    assert "Demandes non satisfaites : 6" in drawn[CAROUGE][1]
    # no unmet requests reported for Thônex: grey, not zero
    assert drawn[THONEX][0] is None


def test_indicator_measure_shows_the_public_indicator(needs_db):
    at = open_app("besoins.py", valeur="indicator", indicateur="age_65plus_pct")
    drawn = commune_traces(spec(at))
    assert len(drawn) == 45
    con = etl_db.open_reader(needs_db)
    try:
        expected = etl_db.query(
            con,
            "select value from indicators where ofs_number = ? and indicator_code = ? "
            "order by year desc limit 1",
            [CAROUGE, "age_65plus_pct"],
        ).item()
    finally:
        con.close()
    assert drawn[CAROUGE][0] == expected
    assert "Part des 65 ans et plus (2019)" in drawn[CAROUGE][1]


# --- Couverture thématique ------------------------------------------------------------------------------


def test_coverage_heatmap_white_zones_and_members(populations):
    at = open_app("couverture.py", annee=str(YEAR), valeur="rate")
    figure = spec(at)
    traces = {trace["name"]: trace for trace in figure["data"]}
    values = traces["values"]
    row = values["y"].index("Aide alimentaire")
    column = values["x"].index("Carouge")
    assert values["z"][row][column] == pytest.approx(30 / populations[CAROUGE] * 1000)
    # white zones (no local service): housing everywhere, food aid in Lancy but not in Onex (the
    # Carouge grocery names Onex), the canton-wide night shelter everywhere but in Genève
    white = set(zip(traces["white_zones"]["x"], traces["white_zones"]["y"], strict=True))
    assert ("Lancy", "Aide alimentaire") in white and ("Onex", "Aide alimentaire") not in white
    assert sum(1 for _, theme in white if theme == "Logement") == 45
    shelter = [commune for commune, theme in white if theme.startswith("Hébergement")]
    assert len(shelter) == 44 and "Genève" not in shelter
    members = next(
        table.value for table in at.table if "Membres (thème déclaré)" in table.value.columns
    )
    food = members[members["Thème"] == "Aide alimentaire"].iloc[0]
    assert food["Membres (thème déclaré)"] == 2 and food["Membres ayant transmis"] == 2
    assert food["Personnes servies (canton)"] == f"{ALIMENTATION_CANTON}"


def test_coverage_states_grid_local_canton_none():
    at = open_app("couverture.py", annee=str(YEAR))
    states = next(t for t in spec(at)["data"] if t["name"] == "states")

    def state(commune: str, theme: str) -> int:
        return states["z"][states["y"].index(theme)][states["x"].index(commune)]

    shelter = next(theme for theme in states["y"] if theme.startswith("Hébergement"))
    assert state("Carouge", "Aide alimentaire") == 2  # local: the grocery is there
    assert state("Onex", "Aide alimentaire") == 2  # local: named by the grocery
    assert state("Lancy", shelter) == 1  # canton-wide only
    assert state("Genève", shelter) == 2  # the shelter is located there
    assert state("Lancy", "Logement") == 0  # no service at all


# --- Fiche communale -------------------------------------------------------------------------------------


def html_blocks(at) -> list[str]:
    """The HTML the page wrote with st.html (the brief's profile tables)."""
    return [element.proto.body for element in at.get("html")]


def profile_row(html: str, label: str) -> str:
    """The <tr> of the profile table whose row header is `label`."""
    match = re.search(
        r'<tr><th scope="row">'
        + re.escape(escape(label))
        + r"(?:<span[^>]*>[^<]*</span>)?</th>.*?</tr>",
        html,
    )
    assert match, f"no row {label!r}"
    return match.group(0)


def test_brief_of_a_commune_from_the_url():
    at = open_app("fiche.py", commune=str(ONEX), annee=str(YEAR))
    assert at.title[0].value == "Fiche communale\u00a0: Onex"
    themes = next(html for html in html_blocks(at) if "Aide alimentaire" in html)
    food = profile_row(themes, "Aide alimentaire")
    assert f'<td class="num extra">{SUPPRESSED}</td>' in food.replace("&lt;", "<")
    # Services counted per theme, with a link to Qui fait quoi filtered to the commune.
    links = " ".join(m.value for m in at.markdown)
    assert "Voir les 2 services" in links and f"qui-fait-quoi?commune={ONEX}" in links


def test_brief_accepts_a_commune_name_and_compares_with_polarity():
    at = open_app("fiche.py", commune="carouge", annee=str(YEAR))
    assert at.query_params["commune"] in (str(CAROUGE), [str(CAROUGE)])
    assert at.title[0].value == "Fiche communale\u00a0: Carouge"
    brief = needs.load_commune_brief(CAROUGE, YEAR)
    social = brief.indicators.filter(pl.col("indicator_code") == "social_assistance_rate_pct")
    row = social.row(0, named=True)
    # the social assistance rate is a needs indicator: higher than the canton is worse
    expected = {"plus_eleve": "Moins bon", "plus_bas": "Meilleur", "similaire": "Semblable"}
    indicators = next(html for html in html_blocks(at) if "Taux d&#x27;aide sociale" in html)
    shown = profile_row(indicators, f"Taux d'aide sociale ({row['value_year']})")
    assert expected[row["comparison"]] in shown
    # the comparison's colour and the spine's dot on the same row, the same colour
    colour = {"Moins bon": "#D55E00", "Meilleur": "#0072B2", "Semblable": "#BDBDBD"}
    wanted = colour[expected[row["comparison"]]]
    assert f"background:{wanted}" in shown
    svg = base64.b64decode(re.search(r"base64,([^\"]+)", shown).group(1)).decode()
    assert f'fill="{wanted}"' in svg


def test_brief_compares_each_theme_with_the_pooled_neighbours(populations):
    """The « Voisins » column: the neighbours' persons summed over their summed population; under
    the commune's ratio, their persons summed over their summed expected numbers (needs_data's
    counts)."""
    neighbours = needs.neighbours_of(CAROUGE, YEAR)["neighbour_ofs"].to_list()
    assert len(neighbours) == 5 and CAROUGE not in neighbours
    persons = {GENEVE: 400, CAROUGE: 30, THONEX: 12}  # food aid, published counts (others: 0)
    withheld = {ONEX, ANIERES}
    at = open_app("fiche.py", commune=str(CAROUGE), annee=str(YEAR))
    themes = next(html for html in html_blocks(at) if "Aide alimentaire" in html)
    assert '<th scope="col" class="num near-col">Voisins</th>' in themes
    cells = re.findall(r'<td class="num[^"]*">(.*?)</td>', profile_row(themes, "Aide alimentaire"))
    value, _interval, _canton, near, count, gap = cells
    assert count == "30"
    assert not withheld & set(neighbours)  # Chêne-Bourg, Vernier, Lancy, Thônex, Meyrin
    total = sum(persons.get(ofs, 0) for ofs in neighbours)
    rate = total / sum(populations[ofs] for ofs in neighbours) * 1000
    assert near == fmt_decimal(rate, 1, "fr")
    gaps = needs.load_commune_gaps("alimentation", YEAR).filter(
        pl.col("ofs_number").is_in(neighbours)
    )
    ratio = total / gaps["expected"].sum()
    assert f"voisins {fmt_decimal(ratio, 2, 'fr')}" in gap


def test_brief_marks_an_estimated_population_only_where_it_changes_a_flag():
    """The same row (expected 100, ratio 0,79, population estimated) judged with each theme's and
    year's own overdispersion. By hand: with τ² = 0 the 95 % funnel's lower limit at E = 100 is the
    Poisson one, (81 − 0,74)/100 ≈ 0,80 (wider than the normal (1 − 1,96·0,05)² ≈ 0,81): 0,79 is
    below it (« bas_95 »), and a population 3 % smaller (ratio 0,79/0,97 ≈ 0,81, E = 97) lifts it
    above: « * ». With τ² = 0,09 the limit is (1 − 1,96·√(0,0025 + 0,09))² ≈ 0,16: 0,79 stays within
    the limits whatever ±3 %: no mark."""
    row = {
        "population_estimated": True,
        "suppressed": False,
        "rate": None,
        "canton_rate": None,
        "canton_flag": None,
        "expected": 100.0,
        "needs_index": 1.0,
        "gap_ratio": 0.79,
    }
    rows = pl.DataFrame(
        [
            {**row, "theme": "alimentation", "year": YEAR, "gap_flag": "bas_95"},
            {**row, "theme": "seniors", "year": YEAR, "gap_flag": "dans_limites"},
            {**row, "theme": "alimentation", "year": YEAR - 1, "gap_flag": "dans_limites"},
            {**row, "theme": "alimentation", "year": YEAR, "gap_flag": "bas_95"}
            | {"population_estimated": False},
        ]
    )
    dispersion = pl.DataFrame(
        {
            "comparison": ["besoins", "besoins", "besoins"],
            "theme": ["alimentation", "seniors", "alimentation"],
            "year": [YEAR, YEAR, YEAR - 1],
            "tau2": [0.0, 0.09, 0.09],
        }
    )
    marked = needs.with_estimate_marks_by_theme_year(rows, dispersion)
    assert marked["estimate_matters"].to_list() == [True, False, False, False]


def test_brief_in_english():
    at = open_app("fiche.py", commune=str(CAROUGE), annee=str(YEAR), lang="en")
    assert at.title[0].value == "Commune brief: Carouge"
    assert any('<th scope="col">Theme</th>' in html for html in html_blocks(at))


def test_standalone_html_brief_is_self_contained():
    brief = needs.load_commune_brief(CAROUGE, YEAR)
    html = brief_export.render_html(brief, has_demo=True, generated_at=dt.datetime(2025, 3, 1))
    assert html.startswith("<!DOCTYPE html>")
    assert "Fiche communale\u00a0: Carouge" in html and "data:image/svg+xml" in html
    assert "<style>" in html
    # nothing to run, nothing to fetch: images are data: URLs (the only URL inside them is the
    # SVG namespace, never requested)
    assert "<script" not in html
    assert not re.search(r'src="(?!data:)', html)
    assert not any(fetch in html for fetch in ("href=", "url(", "@import", "https://"))
    assert "Données de démonstration" in html
    # services counted per theme (Épicerie solidaire, in Carouge, is food aid)
    food_services = brief.services.filter(pl.col("theme") == "alimentation")
    assert "Épicerie solidaire" in food_services["nom"].to_list()
    assert f"{brief.services.height} services au total" in html
    # the food-aid row: 30 persons, its rate and the canton rate computed from the canton total
    canton_rate = brief.themes.filter(pl.col("theme") == "alimentation")["canton_rate"].item()
    food = profile_row(html, "Aide alimentaire")
    rate = fmt_decimal(30 / brief.population * 1000, 1, lang="fr")
    assert food.startswith(f'<tr><th scope="row">Aide alimentaire</th><td class="num">{rate}</td>')
    assert f'<td class="num">{fmt_decimal(canton_rate, 1, lang="fr")}</td>' in food
    assert '<td class="num extra">30</td>' in food


@pytest.mark.browser
@pytest.mark.skipif(brief_export.chromium_path() is None, reason="Chromium absent")
def test_pdf_brief_prints_with_chromium():
    brief = needs.load_commune_brief(CAROUGE, YEAR)
    html = brief_export.render_html(brief, has_demo=False, generated_at=dt.datetime(2025, 3, 1))
    pdf = brief_export.render_pdf(html)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
