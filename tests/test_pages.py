"""Every dashboard page in AppTest: it runs, shows what the database holds, keeps its state in the URL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from demo_settings import LATEST_COMPLETE_YEAR as YEAR
from page_support import public_rows
from streamlit.testing.v1 import AppTest

from dashboard.i18n import fmt_change, fmt_int
from etl import db as etl_db
from etl.public import public_path

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
VIEWS = sorted((APP.parent / "views").glob("*.py"))


def open_app(page: str | None = None, **params: str | list[str]) -> AppTest:
    """Run the app (optionally on `page`, a file of dashboard/views/) with URL parameters."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    if page:
        at.switch_page(f"views/{page}").run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def raw_value(demo_db: Path, sql: str, params: list | None = None):
    con = etl_db.open_reader(demo_db)
    try:
        return etl_db.query(con, sql, params).item()
    finally:
        con.close()


def url(at: AppTest, name: str) -> list[str]:
    """A URL parameter as a list, however AppTest stores it (str for one value, list for several)."""
    value = at.query_params.get(name, [])
    return [value] if isinstance(value, str) else list(value)


def chart_traces(at: AppTest, index: int = 0) -> dict[str, list]:
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return {trace["name"]: trace for trace in spec["data"] if trace.get("name")}


# --- every page -------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", VIEWS, ids=lambda p: p.stem)
def test_page_runs_without_exception(view: Path, demo_env):
    at = open_app(view.name)
    assert_clean(at)


@pytest.mark.parametrize("view", VIEWS, ids=lambda p: p.stem)
def test_page_runs_in_english(view: Path, demo_env):
    at = open_app(view.name, lang="en")
    assert_clean(at)


def test_demo_banner_on_every_page(demo_env):
    at = open_app()
    assert any("Données de démonstration" in w.value for w in at.warning)
    for view in VIEWS:
        at.switch_page(f"views/{view.name}").run()
        assert any("Données de démonstration" in w.value for w in at.warning), view.name


# --- Vue d'ensemble ---------------------------------------------------------------------------------


def test_overview_kpis_equal_a_direct_query(demo_env, demo_db):
    overlapping = raw_value(
        demo_db,
        """select count(*) from (
               select a.member_code, a.year from activity a join periods p on p.code = a.period_code
               group by all having count(distinct p.granularity) > 1)""",
    )
    assert overlapping == 0  # so a plain sum per year is the expected figure
    persons = raw_value(
        demo_db, "select sum(personnes)::bigint from activity where year = ?", [YEAR]
    )
    members = raw_value(
        demo_db, "select count(distinct member_code) from activity where year = ?", [YEAR]
    )
    previous = raw_value(
        demo_db, "select sum(personnes)::bigint from activity where year = ?", [YEAR - 1]
    )
    at = open_app()
    assert_clean(at)
    cards = {metric.label: metric for metric in at.metric}
    assert cards["Personnes servies"].value == fmt_int(persons, lang="fr")
    assert cards["Membres ayant transmis"].value == str(members)
    change = 100 * (persons - previous) / previous
    assert cards["Personnes servies"].delta.startswith(f"{'+' if change > 0 else '-'}")
    assert f"{abs(change):.1f}".replace(".", ",") in cards["Personnes servies"].delta
    assert str(YEAR - 1) in cards["Personnes servies"].delta


def test_overview_year_comes_from_the_url(demo_env, demo_db):
    persons = raw_value(
        demo_db, "select sum(personnes)::bigint from activity where year = ?", [2021]
    )
    at = open_app(annee="2021", lang="en")
    assert_clean(at)
    assert at.selectbox(key="url_annee").value == 2021
    cards = {metric.label: metric for metric in at.metric}
    assert cards["Persons served"].value == fmt_int(persons, lang="en")
    assert "2020" in cards["Persons served"].delta


def test_overview_theme_table_and_completeness(demo_env, demo_db):
    at = open_app()
    themes, completeness = at.dataframe[0].value, at.dataframe[1].value
    n_themes = raw_value(
        demo_db, "select count(distinct theme) from activity where year <= ?", [YEAR]
    )
    assert len(themes) == n_themes
    n_members = raw_value(demo_db, "select count(*) from members")
    assert len(completeness) == n_members
    assert "Dernier chargement" in " ".join(c.value for c in at.caption)


def test_overview_least_met_uses_the_published_adjusted_flags(demo_env, demo_db):
    """« Where needs are least met » counts, per theme, the communes below the adjusted 95 % funnel
    limit (the published gap analysis), not those whose Poisson interval lies below 1."""
    con = etl_db.open_reader(public_path(demo_db))
    try:
        counts = etl_db.query(
            con,
            """select theme, t.label_fr,
                   count(*) filter (where flag in ('bas_998', 'bas_95')) as adjusted,
                   count(*) filter (where ci_upper < 1) as poisson
               from public.commune_comparisons c join public.themes t on t.code = c.theme
               where year = ? and comparison = 'besoins' and theme <> '*'
               group by all""",
            [YEAR],
        ).to_dicts()
    finally:
        con.close()
    # the two rules differ on the demo: the test tells them apart
    assert any(row["adjusted"] != row["poisson"] for row in counts)
    flagged = sorted(
        (row for row in counts if row["adjusted"]), key=lambda r: (-r["adjusted"], r["label_fr"])
    )
    at = open_app()
    assert_clean(at)
    text = " ".join(m.value for m in at.markdown)
    for row in flagged[:4]:  # the four themes with the most under-served communes
        link = f"[{row['label_fr']}](besoins-et-lacunes?theme={row['theme']}&annee={YEAR})"
        assert f"{link} : {row['adjusted']} communes sur 45 sous-desservies" in text, row


def latest_assessments(demo_db) -> list[dict]:
    """The latest assessed quarter's series, with their published count (straight from the file)."""
    con = etl_db.open_reader(public_path(demo_db))
    try:
        return etl_db.query(
            con,
            """with latest as (select max(year * 4 + quarter - 1) as period from public.signals
                               where scope = 'trimestre')
               select s.theme, s.lieu, s.ofs_number, s.status, s.expected, t.label_fr, m.name,
                   c.personnes
               from public.signals s
               join latest on s.year * 4 + s.quarter - 1 = latest.period
               left join public.themes t on t.code = s.theme
               left join public.communes m on m.ofs_number = s.ofs_number
               join public.activity_quarter_cube c on c.year = s.year and c.quarter = s.quarter
                   and c.theme = s.theme and c.lieu = s.lieu and c.category = '*'
               where s.scope = 'trimestre'""",
        ).to_dicts()
    finally:
        con.close()


def test_overview_and_brief_show_the_latest_quarters_assessments(demo_env, demo_db):
    """The latest published quarter: the overview lists its signals one line each (or says that
    none of the series assessed was raised); a commune's brief gives its own series, all themes
    together (a commune's themes are not published by quarter), with its published count."""
    rows = latest_assessments(demo_db)
    assert {(row["theme"] == "*", row["lieu"] == "GE") for row in rows} == {
        (True, False),
        (False, True),
    }
    raised = [row for row in rows if row["status"] == "signal"]
    assessed = sum(row["status"] in ("signal", "attendu") for row in rows)
    home = open_app()
    overview = " ".join([m.value for m in home.markdown] + [c.value for c in home.caption])
    for row in raised:
        theme = "Tous les thèmes" if row["theme"] == "*" else row["label_fr"]
        place = "canton de Genève" if row["lieu"] == "GE" else row["name"]
        assert f"**{theme} — {place}** : {fmt_int(row['personnes'])} personnes" in overview, row
    if not raised:
        assert f"les {assessed} séries évaluées restent dans leur norme" in overview, overview
    # A commune assessed within its usual range: its brief gives its change from the expected.
    commune = min(
        (row for row in rows if row["lieu"] != "GE" and row["status"] == "attendu"),
        key=lambda row: row["ofs_number"],
    )
    at = open_app("fiche.py", commune=str(commune["ofs_number"]))
    assert_clean(at)
    change = fmt_change(100 * (commune["personnes"] / commune["expected"] - 1), digits=0)
    brief = " ".join(m.value for m in at.markdown)
    assert f"**Dans la norme** : Tous les thèmes ({change})" in brief, brief
    assert "Aide alimentaire (" not in brief  # no theme of the commune by quarter


def test_signaux_shows_the_one_series_its_filters_choose_with_its_history(demo_env, demo_db):
    """A commune chosen on Signaux (as its brief's link does): its only series, all themes together,
    gets its card and history whatever its assessment; the history is the published quarters."""
    onex = next(row for row in latest_assessments(demo_db) if row["lieu"] == "6631")
    at = open_app("signaux.py", theme="*", lieu="6631")
    assert_clean(at)
    assert at.multiselect(key="url_theme").value == ["*"]
    text = " ".join(m.value for m in at.markdown)
    assert "**Tous les thèmes — Onex**" in text
    if onex["status"] == "attendu":
        expected = fmt_int(onex["expected"])
        assert f"{fmt_int(onex['personnes'])} personnes servies, pour {expected} attendues" in text
    history = raw_value(
        public_path(demo_db),
        "select list(personnes order by year, quarter) from public.activity_quarter_cube "
        "where theme = '*' and lieu = '6631' and category = '*'",
    )
    traces = chart_traces(at)
    observed = next(trace for name, trace in traces.items() if name == "Chiffre publié")
    assert observed["y"] == history.to_list()


# --- Tendances ----------------------------------------------------------------------------------------


def test_trends_chart_equals_a_direct_query(demo_env, demo_db):
    at = open_app("trends.py", ventilation="theme", themes=["alimentation", "*"])
    assert_clean(at)
    traces = chart_traces(at)
    assert set(traces) == {"Aide alimentaire", "Tous les thèmes"}
    for name, theme, theme_filter in (
        ("Aide alimentaire", "alimentation", "theme = 'alimentation'"),
        ("Tous les thèmes", "*", "true"),
    ):
        con = etl_db.open_reader(demo_db)
        try:
            expected = etl_db.query(
                con,
                f"select year, sum(personnes) as n from activity where {theme_filter} "
                "group by year order by year",
            )
        finally:
            con.close()
        # A count withheld by disclosure control (DESIGN §6) is a gap in the line, never a value.
        withheld = public_rows(
            demo_db,
            "select year from public.activity_year_cube where lieu = '*' and category = '*' "
            "and theme = ? and personnes_supprime",
            [theme],
        )["year"].to_list()
        assert traces[name]["x"] == [float(y) for y in expected["year"]]
        assert traces[name]["y"] == [
            None if year in withheld else n for year, n in expected.iter_rows()
        ]


def test_trends_filters_are_restored_from_the_url(demo_env, demo_db):
    # Two communes whose total of YEAR is published (disclosure control withholds many, even a
    # city's when it protects small counts), by OFS number; the chart names them.
    chosen = public_rows(
        demo_db,
        """select c.ofs_number::varchar as ofs, c.name from public.activity_year_cube a
           join public.communes c on c.ofs_number::varchar = a.lieu
           where a.year = ? and a.theme = '*' and a.category = '*' and not a.personnes_supprime
           order by c.ofs_number limit 2""",
        [YEAR],
    )
    (first, second), (first_name, second_name) = chosen["ofs"], chosen["name"]
    at = open_app("trends.py", ventilation="lieu", communes=[first, second], mesure="rate")
    assert_clean(at)
    assert at.selectbox(key="url_ventilation").value == "lieu"
    assert at.multiselect(key="url_communes").value == [first, second]
    assert at.radio(key="url_mesure").value == "rate"
    traces = chart_traces(at)
    assert sorted(traces) == sorted([first_name, second_name])
    persons = raw_value(
        demo_db,
        "select sum(personnes)::bigint from activity where year = ? and ofs_number = ?",
        [YEAR, int(first)],
    )
    residents = raw_value(
        demo_db,
        "select population from population where year = ? and ofs_number = ? and is_reference",
        [YEAR, int(first)],
    )
    last = traces[first_name]["x"].index(float(YEAR))
    assert traces[first_name]["y"][last] == pytest.approx(1000 * persons / residents)


def test_trends_widgets_write_the_url(demo_env):
    at = open_app("trends.py")
    at.selectbox(key="url_variable").set_value("demandes_non_satisfaites").run()
    at.radio(key="url_pas").set_value("quarter").run()
    assert_clean(at)
    assert url(at, "variable") == ["demandes_non_satisfaites"]
    assert url(at, "pas") == ["quarter"]
    at.selectbox(key="url_variable").set_value("personnes").run()  # the default leaves the URL
    assert "variable" not in at.query_params


def test_trends_quarterly_and_table(demo_env):
    at = open_app("trends.py", pas="quarter", ventilation="none", variable="liste_attente")
    assert_clean(at)
    traces = chart_traces(at)
    (trace,) = traces.values()
    assert len(trace["x"]) == 4 * 6  # six years of quarters from the sub-annual members
    table = at.dataframe[0].value
    assert "T4 2024" in table.columns


def test_unknown_url_values_are_ignored_with_a_warning(demo_env):
    at = open_app(lang="xx", annee="1900")
    assert_clean(at)
    # Guillemets hold their text with no-break spaces: compare with plain spaces.
    warnings = " ".join(toast.value for toast in at.toast).replace("\u00a0", " ")
    warnings = warnings.replace("\u202f", " ")
    assert "« lang = xx »" in warnings and "« annee = 1900 »" in warnings
    assert at.title[0].value == "Vue d'ensemble"
    assert at.selectbox(key="url_annee").value == YEAR
    assert url(at, "lang") == [] and url(at, "annee") == []  # removed from the address
    at.switch_page("views/trends.py")
    at.query_params.update(ventilation="astrologie", themes=["alimentation", "nope"])
    at.run()
    assert_clean(at)
    assert at.selectbox(key="url_ventilation").value == "theme"
    assert at.multiselect(key="url_themes").value == ["alimentation"]
    warnings = " ".join(toast.value for toast in at.toast)
    assert "astrologie" in warnings and "nope" in warnings


# --- language -----------------------------------------------------------------------------------------


def test_language_switch_changes_labels_and_url(demo_env):
    at = open_app()
    assert at.title[0].value == "Vue d'ensemble"
    at.radio(key="_lang_widget").set_value("en").run()
    assert_clean(at)
    assert at.title[0].value == "Overview"
    assert url(at, "lang") == ["en"]
    assert "Persons served" in [metric.label for metric in at.metric]
    at.switch_page("views/trends.py").run()
    assert at.title[0].value == "Trends"  # the language survives a page change
    at.radio(key="_lang_widget").set_value("fr").run()
    assert at.title[0].value == "Tendances"
    assert "lang" not in at.query_params


# --- Méthodologie ------------------------------------------------------------------------------------


def test_methodology_states_freshness_and_rule(demo_env):
    at = open_app("methodologie.py")
    assert_clean(at)
    text = " ".join(m.value for m in at.markdown)
    assert "**X**" in text
    assert "1 à 4" in text and "au moins cinq valeurs possibles" in text
    assert "Byar" in text and "Wilson" in text
    assert "Dernier chargement de données" in text
    assert "ce que la protection coûte dans cette publication" in text
    shares = next(d.value for d in at.dataframe if "crossing" in d.value.columns)
    assert shares["crossing"].iloc[0] == "Commune par année, toutes thématiques"
    assert shares["share"].str.endswith("%").all()
    assert len(at.latex) >= 5
    population = at.dataframe[-1].value
    assert len(population) >= 10


# --- the database comes and goes --------------------------------------------------------------------


def test_missing_database_gives_a_french_message_then_recovers(demo_db, tmp_path, monkeypatch):
    path = tmp_path / "absente.duckdb"
    monkeypatch.setenv("OBSERVATOIRE_DB", str(path))
    at = open_app()
    assert_clean(at)
    assert "introuvable" in at.error[0].value
    shutil.copyfile(demo_db, path)
    shutil.copyfile(public_path(demo_db), public_path(path))
    at.run()
    assert_clean(at)
    assert not at.error
    assert at.title[0].value == "Vue d'ensemble"


def test_corrupt_database_gives_a_french_message(tmp_path, monkeypatch, demo_db):
    path = tmp_path / "abimee.duckdb"
    shutil.copyfile(demo_db, path)
    public_path(path).write_bytes(b"ceci n'est pas une base DuckDB" * 100)
    monkeypatch.setenv("OBSERVATOIRE_DB", str(path))
    at = open_app()
    assert_clean(at)
    assert "illisible ou corrompue" in at.error[0].value


def test_pages_hold_no_sql_and_import_no_duckdb():
    for view in VIEWS:
        source = view.read_text()
        assert "import duckdb" not in source, view.name
        assert not pl.Series([source]).str.contains(r"(?i)\bselect\b[^\n]*\bfrom\b").item(), (
            view.name
        )
