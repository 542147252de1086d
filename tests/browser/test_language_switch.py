"""Every page in both languages (DESIGN §7).

The language switch keeps the view: with filters away from their defaults, switching to English and
back keeps every widget's choice, shown in the new language, and the address keeps the codes (no
« paramètre d'adresse ignoré » notice on the next click). And in each language the page meets WCAG
2.1 AA as far as axe-core can check it: no serious or critical violation (eCH-0059), and every chart
has a text alternative (its title and summary sentence). The checks share
the page loads: a page opened costs far more than either check."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlparse

import polars as pl
import pytest
from browser_support import CHARTS_WITHOUT_TEXT, axe_problems, open_page, wait_rendered

from dashboard.app import PAGES, VIEWS_DIR
from dashboard.i18n import t

THEMES = {row["code"]: row for row in pl.read_csv("data/themes.csv").to_dicts()}


def theme(code: str, lang: str) -> str:
    return THEMES[code][f"label_{lang}"]


def key(text_key: str):
    """A widget label or option given by its locale key: the expected text in either language."""
    return lambda lang: t(text_key, lang=lang)


def same(text: str):
    """A text that is the same in both languages (a commune's name, a year)."""
    return lambda lang: text


def view_switch(title_key: str, **title_args):
    """The label of a chart's « Graphique / Tableau » switch (hidden; it names the chart)."""

    def label(lang: str) -> str:
        args = {
            name: value(lang) if callable(value) else value for name, value in title_args.items()
        }
        return t("common.takeaway.view", lang=lang, title=t(title_key, lang=lang, **args))

    return label


# Each page with filters away from their defaults: the address, then for each widget (by its label:
# a locale key, or a function of the language) the choices it must show. `None`: the open tab.
VIEWS = {
    "vue-d-ensemble": ("annee=2021", {"overview.year": [same("2021")]}),
    "tendances": (
        "variable=demandes_non_satisfaites&ventilation=lieu&mesure=rate&pas=quarter"
        "&communes=6621&communes=6643&theme=alimentation",
        {
            "trends.metric": [key("common.metric.demandes_non_satisfaites")],
            "trends.breakdown": [key("trends.breakdown_by.lieu")],
            "trends.measure": [key("trends.measure_name.rate")],
            "trends.step": [key("trends.step_name.quarter")],
            "trends.compare_places": [same("Genève"), same("Vernier")],
            "trends.theme": [lambda lang: theme("alimentation", lang)],
        },
    ),
    "besoins-et-lacunes": (
        "theme=sante&annee=2022&valeur=indicator&indicateur=foreign_share_pct&voisins=6608",
        {
            "besoins.theme": [lambda lang: theme("sante", lang)],
            "besoins.year": [same("2022")],
            "besoins.measure": [key("needs.measure.indicator")],
            "besoins.neighbours_filter": [same("Carouge")],
        },
    ),
    "couverture": (
        "annee=2022&valeur=need&theme=sante&vue_carte=tableau",
        {
            "couverture.year": [same("2022")],
            "couverture.measure": [key("couverture.measure_option.need")],
            "couverture.map_theme": [lambda lang: theme("sante", lang)],
            view_switch(
                "couverture.heatmap_title",
                measure=key("couverture.measure_option.need"),
                year=2022,
            ): [key("common.takeaway.view_graphique")],
            view_switch(
                "couverture.map_title", theme=lambda lang: theme("sante", lang), year=2022
            ): [key("common.takeaway.view_tableau")],
        },
    ),
    "fiche-communale": (
        "commune=6608&annee=2022",
        {"fiche.commune": [same("Carouge")], "fiche.year": [same("2022")]},
    ),
    "qui-fait-quoi": (
        "theme=alimentation&commune=6631&portee=situe&jour=samedi&onglet=tableau",
        {
            "directory.filter_theme": [lambda lang: theme("alimentation", lang)],
            "directory.filter_commune": [same("Onex")],
            "directory.filter_scope": [key("directory.scope.situe")],
            "directory.filter_day": [key("directory.day.samedi")],
            None: [key("directory.tab_table")],
        },
    ),
    "remontees": (
        "gravite=alerte&theme=alimentation&graphique=vigilance",
        {
            "field.filter_level": [key("field.level.alerte")],
            "field.filter_theme": [lambda lang: theme("alimentation", lang)],
            "field.chart_levels": [key("field.level.vigilance")],
        },
    ),
    # A quarter other than the latest, all the series assessed (the table) and one series' card
    # with its history chart (Onex, all themes together, 2024-T2 on the test demo).
    "signaux": (
        "trimestre=2024-T2&theme=*&lieu=6631&afficher=tous",
        {
            "signals.filter_quarter": [
                lambda lang: t("signals.quarter", lang=lang, year=2024, quarter=2)
            ],
            "signals.filter_theme": [key("common.all_themes")],
            "signals.filter_place": [same("Onex")],
            "signals.filter_show": [key("signals.show_all")],
        },
    ),
    "donnees": (
        "niveau=canton&periode=trimestre&theme=*&theme=alimentation&variable=personnes",
        {
            "donnees.level": [key("donnees.level_name.canton")],
            "donnees.granularity": [key("donnees.granularity_name.trimestre")],
            "donnees.variables": [key("donnees.variable.personnes")],
        },
    ),
    "methodologie": ("", {}),
    "administration": ("", {}),
}
# More views of a page: Besoins et lacunes with the gap map in its table view and the funnel plot
# (drawn for the gap measure), Couverture with the three states on the grid's table and the map.
MORE_VIEWS = {
    "besoins-et-lacunes-entonnoir": (
        "besoins-et-lacunes",
        "theme=sante&annee=2022&voisins=6643&vue=tableau",
        {
            "besoins.measure": [key("needs.measure.gap")],
            "besoins.neighbours_filter": [same("Vernier")],
            view_switch(
                "besoins.map_title",
                measure=key("needs.measure.gap"),
                theme=lambda lang: theme("sante", lang),
                year=2022,
            ): [key("common.takeaway.view_tableau")],
        },
    ),
    "couverture-etats": (
        "couverture",
        "annee=2022&theme=logement&vue=tableau",
        {
            "couverture.measure": [key("couverture.measure_option.state")],
            "couverture.map_theme": [lambda lang: theme("logement", lang)],
            view_switch(
                "couverture.heatmap_title",
                measure=key("couverture.measure_option.state"),
                year=2022,
            ): [key("common.takeaway.view_tableau")],
        },
    ),
}
CASES = {
    **{path: (path, query, widgets) for path, (query, widgets) in VIEWS.items()},
    **MORE_VIEWS,
}

# What each widget shows as chosen, by its label: selectbox, radio, multiselect, segmented control,
# and the open tab (label "").
WIDGET_STATE = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  // A hidden label (a chart's view switch) has no innerText: its text is read instead.
  const label = el => {
    const node = el.querySelector('[data-testid="stWidgetLabel"]');
    return ((node?.innerText || '').trim() || (node?.textContent || '')).trim();
  };
  const state = {};
  for (const el of main.querySelectorAll('[data-testid="stSelectbox"]'))
    state[label(el)] = [el.querySelector('input').value];
  for (const el of main.querySelectorAll('[data-testid="stRadio"]'))
    state[label(el)] = [...el.querySelectorAll('input:checked')]
      .map(input => input.closest('label').innerText.trim());
  for (const el of main.querySelectorAll('[data-testid="stMultiSelect"]'))
    state[label(el)] = [...el.querySelectorAll('[data-tag]')].map(tag => tag.getAttribute('aria-label'));
  for (const el of main.querySelectorAll('[data-testid="stButtonGroup"]'))
    state[label(el)] = [...el.querySelectorAll('[aria-checked="true"]')].map(b => b.innerText.trim());
  const tab = main.querySelector('[role="tab"][aria-selected="true"]');
  if (tab) state[''] = [tab.innerText.trim()];
  return state;
}"""


def widget_state(page) -> dict[str, list[str]]:
    return page.evaluate(WIDGET_STATE)


def expected_state(widgets: dict, lang: str) -> dict[str, list[str]]:
    def label(label_key) -> str:
        if label_key is None:
            return ""
        return label_key(lang) if callable(label_key) else t(label_key, lang=lang)

    return {
        label(label_key): [text(lang) for text in texts] for label_key, texts in widgets.items()
    }


def query_of(url: str) -> list[tuple[str, str]]:
    return sorted(parse_qsl(urlparse(url).query, keep_blank_values=True))


def switch_to(page, language_name: str, lang: str) -> None:
    """Click the sidebar's language and wait until the page is drawn again in that language
    (the page shell sets <html lang>, which screen readers read too)."""
    page.get_by_test_id("stSidebar").get_by_text(language_name, exact=True).click()
    page.wait_for_function("(lang) => document.documentElement.lang === lang", arg=lang)
    page.wait_for_timeout(300)
    wait_rendered(page)


def toasts(page) -> list[str]:
    return page.get_by_test_id("stToast").all_inner_texts()


def test_every_page_is_covered():
    assert set(VIEWS) == {spec.url_path for spec in PAGES if (VIEWS_DIR / spec.file).exists()}


@pytest.mark.parametrize("case", list(CASES))
def test_each_page_in_both_languages(page, page_errors, dashboard_url, case):
    url_path, query, widgets = CASES[case]
    open_page(page, f"{dashboard_url}/{url_path}?{query}")
    french = widget_state(page)
    for label, texts in expected_state(widgets, "fr").items():
        assert french.get(label) == texts, (label, french)
    french_query = query_of(page.url)
    assert axe_problems(page) == []
    assert page.evaluate("() => document.documentElement.lang") == "fr"
    assert page.evaluate(CHARTS_WITHOUT_TEXT) == 0  # every chart has its text alternative
    assert french_query == query_of(f"?{query}")

    switch_to(page, "English", "en")
    english = widget_state(page)
    for label, texts in expected_state(widgets, "en").items():
        assert english.get(label) == texts, (label, english)
    # Every widget still shows as many choices as before, none left empty.
    assert [len(v) for v in english.values()] == [len(v) for v in french.values()]
    assert query_of(page.url) == sorted([*french_query, ("lang", "en")])
    assert axe_problems(page) == []

    # The next click (back to French) finds the codes: same view, no notice, same address.
    switch_to(page, "Français", "fr")
    assert widget_state(page) == french
    assert query_of(page.url) == french_query
    assert toasts(page) == []
    assert page_errors == []
