"""The Données page in AppTest: filters from the URL, preview row count against a direct query on the
public file, withheld cells shown « X », citation and dictionary, both languages."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from etl import db as etl_db
from etl import exports
from etl.public import open_public_reader, public_path

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def open_donnees(**params: str | list[str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page("views/donnees.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def public_value(demo_db: Path, sql: str, params: list | None = None):
    """One value read straight from the public file, without etl.exports."""
    con = open_public_reader(public_path(demo_db))
    try:
        return etl_db.query(con, sql, params).item()
    finally:
        con.close()


def row_count(at: AppTest) -> int:
    metric = next(m for m in at.metric if m.label in ("Lignes", "Rows"))
    return int(metric.value.replace("\u202f", "").replace(",", ""))


def url(at: AppTest, name: str) -> list[str]:
    value = at.query_params.get(name, [])
    return [value] if isinstance(value, str) else list(value)


def test_default_preview_counts_every_commune_theme_and_year(demo_env, demo_db):
    at = open_donnees()
    # Default: by commune and year, every theme (not the total), all members, every year.
    expected = public_value(
        demo_db,
        """select count(*) from public.activity_year_cube
           where category = '*' and ofs_number is not null and theme <> '*'""",
    )
    assert expected > 0
    assert row_count(at) == expected
    assert len(at.dataframe[0].value) == min(expected, 2_000)


def test_the_url_reproduces_the_selection(demo_env, demo_db):
    at = open_donnees(
        niveau="canton",
        periode="trimestre",
        debut="2023",
        fin="2024",
        theme=["*", "alimentation"],
        categorie=["*", "association"],
        variable=["personnes", "taux_pour_1000"],
    )
    expected = public_value(
        demo_db,
        """select count(*) from public.activity_quarter_cube
           where lieu = 'GE' and year between 2023 and 2024
             and theme in ('*', 'alimentation') and category in ('*', 'association')""",
    )
    assert row_count(at) == expected > 0
    assert at.radio(key="url_niveau").value == "canton"
    assert at.radio(key="url_periode").value == "trimestre"
    assert at.multiselect(key="url_theme").value == ["*", "alimentation"]
    preview = pl.from_pandas(at.dataframe[0].value)
    assert preview.columns == [
        "annee",
        "trimestre",
        "no_ofs",
        "territoire",
        "theme",
        "theme_libelle",
        "categorie_membres",
        "personnes",
        "taux_pour_1000",
        "donnees_demo",
    ]
    assert set(preview["territoire"]) == {"Canton de Genève (45 communes)"}
    # The citation and the command line give the same selection back.
    command = at.code[-1].value
    assert "--niveau canton --periode trimestre" in command
    assert "--theme '*' --theme 'alimentation'" in command


def test_widgets_write_the_url(demo_env):
    at = open_donnees()
    at.multiselect(key="url_theme").set_value(["sante"]).run()
    at.multiselect(key="url_commune").set_value([6631]).run()
    assert url(at, "theme") == ["sante"]
    assert url(at, "commune") == ["6631"]
    preview = pl.from_pandas(at.dataframe[0].value)
    assert set(preview["territoire"]) <= {"Onex"} and set(preview["theme"]) <= {"sante"}


def test_suppressed_counts_read_less_than_five(demo_env, demo_db):
    at = open_donnees(debut="2024", fin="2024", variable=["personnes"])
    preview = pl.from_pandas(at.dataframe[0].value)
    hidden = public_value(
        demo_db,
        """select count(*) from public.activity_year_cube
           where year = 2024 and category = '*' and ofs_number is not null and theme <> '*'
             and personnes_supprime""",
    )
    assert hidden > 0, "the demo should need suppression in 2024"
    assert (preview["personnes"] == "X").sum() == hidden
    assert not preview["personnes"].is_in(["1", "2", "3", "4"]).any()
    assert "personnes_supprime" not in preview.columns  # said by « X » on the page


def test_citation_names_the_database_version_and_date(demo_env, demo_db):
    at = open_donnees()
    version = public_value(demo_db, "select version from public.release")
    published = public_value(demo_db, "select published_at from public.release")
    citation = at.code[0].value
    assert version in citation
    assert f"{published:%d.%m.%Y}" in citation
    assert any(version in m.value for m in at.markdown)


def test_the_dictionary_lists_every_column_of_the_preview(demo_env):
    at = open_donnees(variable=["personnes", "population", "foreign_share_pct"])
    keys = [*(c for c in exports.KEY_COLUMNS if c != "trimestre"), exports.CATEGORY_COLUMN]
    dictionary = pl.from_pandas(at.table[0].value)
    described = dictionary["Colonne"].to_list()
    assert described[: len(keys)] == keys
    assert {"personnes_supprime", "foreign_share_pct", "foreign_share_pct_annee"} <= set(described)


def test_the_four_downloads_are_offered(demo_env):
    at = open_donnees()
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["CSV", "Excel", "Parquet", "ZIP (datapackage)"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"debut": "2024", "fin": "2020"}, "L'année de début est après l'année de fin"),
        ({"categorie": ""}, "Choisissez au moins une catégorie"),
    ],
)
def test_impossible_selections_are_explained(demo_env, params, message):
    at = open_donnees(**params)
    assert any(message in w.value for w in at.warning)
    assert not at.get("download_button")


def test_the_page_in_english(demo_env):
    at = open_donnees(lang="en", niveau="canton")
    assert at.title[0].value == "Data"
    assert row_count(at) > 0
    assert "CAPAS social observatory" in at.code[0].value
