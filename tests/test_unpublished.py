"""Detail that is not published (DESIGN §6, etl/disclosure/crossings.py): a commune by member
category, a commune's quarters by theme. Every path that can ask for it (Tendances, Données, the
exports and `observatoire exporter`) says so in plain words and offers the nearest published view;
the published detail still works."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
from page_support import public_rows
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from dashboard.components import unpublished
from etl import exports
from etl.cli import app
from etl.errors import UserError
from etl.exports import Selection

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
NOTICE = {"fr": "Non publié à ce niveau de détail", "en": "Not published at this level of detail"}


def open_page(page: str, **params: str | list[str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page(f"views/{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def notices(at: AppTest) -> str:
    return " ".join(box.value for box in at.info)


def chart_series(at: AppTest) -> dict[str, list]:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return {trace["name"]: trace["y"] for trace in spec["data"] if trace.get("name")}


def published_line(demo_db: Path, cube: str, where: str, params: list) -> list:
    """One published series (persons, by period), « X » as None: what a chart line must hold."""
    order = "year, quarter" if cube == "activity_quarter_cube" else "year"
    return public_rows(
        demo_db,
        f"select personnes from public.{cube} where {where} order by {order}",
        params,
    )["personnes"].to_list()


# --- what is published (pure) ------------------------------------------------------------------------


def test_the_nearest_published_trends_keep_the_series_compared():
    by_place = {"theme": ["*"], "lieu": ["6621", "GE"], "category": ["association"]}
    assert unpublished.trends_detail(by_place, "year") == ["place_category"]
    nearest, changed = unpublished.nearest_trends(by_place, "lieu", "year")
    assert nearest == {"theme": ["*"], "lieu": ["6621", "GE"], "category": ["*"]}
    assert changed == ["all_members"]
    by_category = {"theme": ["alimentation"], "lieu": ["6621"], "category": ["association", "*"]}
    nearest, changed = unpublished.nearest_trends(by_category, "category", "quarter")
    assert nearest["lieu"] == ["GE"] and nearest["category"] == ["association", "*"]
    assert changed == ["canton_by_category"]
    quarterly = {"theme": ["alimentation", "hygiene"], "lieu": ["6621"], "category": ["*"]}
    assert unpublished.trends_detail(quarterly, "quarter") == ["place_quarter_theme"]
    assert unpublished.trends_detail(quarterly, "year") == []
    nearest, changed = unpublished.nearest_trends(quarterly, "theme", "quarter")
    assert nearest["lieu"] == ["GE"] and changed == ["canton_by_theme"]
    nearest, changed = unpublished.nearest_trends(
        {**quarterly, "theme": ["hygiene"]}, "lieu", "quarter"
    )
    assert nearest["theme"] == ["*"] and changed == ["all_themes"]
    canton = {"theme": ["alimentation"], "lieu": ["GE", "*"], "category": ["association"]}
    assert unpublished.trends_detail(canton, "quarter") == []


def test_the_nearest_published_extraction():
    asked = Selection(2020, 2024, communes=(6621,), categories=("*", "association"))
    assert exports.unpublished(asked) == ["place_category"]
    assert exports.nearest_published(asked).categories == ("*",)
    quarterly = Selection(2020, 2024, granularity="trimestre", themes=("alimentation",))
    assert exports.unpublished(quarterly) == ["place_quarter_theme"]
    assert exports.nearest_published(quarterly).themes == ("*",)
    assert exports.unpublished(Selection(2020, 2024, granularity="trimestre")) == []
    canton = Selection(2020, 2024, level="canton", granularity="trimestre", categories=("x",))
    assert exports.unpublished(canton) == []


# --- exports and the command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(demo_db):
    with exports.public_runner(demo_db) as run:
        yield run


def test_an_extraction_of_communes_by_category_is_refused_in_french(demo_run):
    selection = Selection(2023, 2024, communes=(6630,), categories=("*", "association"))
    with pytest.raises(UserError) as refused:
        exports.extract(selection, demo_run)
    message = str(refused.value)
    assert message.startswith("Non publié à ce niveau de détail : les communes par catégorie")
    assert "--categorie association" in message and "--niveau canton" in message
    assert "petits nombres" in message
    # the command it proposes is the published selection nearest to the one asked
    assert message.endswith("observatoire exporter --debut 2023 --fin 2024 --commune 6630")


def test_an_extraction_of_communes_quarters_by_theme_is_refused(demo_run):
    selection = Selection(2023, 2024, granularity="trimestre", themes=("alimentation",))
    with pytest.raises(UserError, match="les trimestres des communes par thématique") as refused:
        exports.extract(selection, demo_run)
    assert "--theme alimentation" in str(refused.value)
    assert "--periode annee" in str(refused.value)


def test_communes_quarters_default_to_all_themes_together(demo_run, demo_db):
    frame = exports.extract(Selection(2023, 2024, granularity="trimestre"), demo_run)
    expected = public_rows(
        demo_db,
        """select count(*) as n from public.activity_quarter_cube
           where year between 2023 and 2024 and ofs_number is not null
             and theme = '*' and category = '*'""",
    )["n"].item()
    assert frame.height == expected > 0
    assert set(frame["theme"]) == {"*"} and set(frame["categorie_membres"]) == {"*"}


def test_the_canton_by_category_and_quarter_is_still_extracted(demo_run, demo_db):
    selection = Selection(
        2024,
        2024,
        level="canton",
        granularity="trimestre",
        themes=("alimentation",),
        categories=("association",),
    )
    frame = exports.extract(selection, demo_run)
    expected = public_rows(
        demo_db,
        """select quarter, personnes from public.activity_quarter_cube
           where year = 2024 and lieu = 'GE' and theme = 'alimentation'
             and category = 'association' order by quarter""",
    )
    assert frame.height == expected.height > 0
    assert frame["personnes"].to_list() == expected["personnes"].to_list()


def test_every_file_says_what_is_not_published(demo_run):
    selection = Selection(2024, 2024, level="canton", variables=("personnes",))
    frame = exports.extract(selection, demo_run)
    meta = exports.metadata(selection, demo_run, exports.load_options(demo_run))
    with zipfile.ZipFile(io.BytesIO(exports.to_zip(frame, meta))) as archive:
        readme = archive.read("LISEZMOI.txt").decode()
        package = json.loads(archive.read("datapackage.json"))
    assert "Détail non publié : Ne sont jamais publiés" in readme
    assert "par catégorie de membres" in package["unpublished_detail"]
    parquet = pl.read_parquet_metadata(io.BytesIO(exports.to_parquet(frame, meta)))
    assert parquet["detail_non_publie"] == exports.UNPUBLISHED_NOTE


def test_the_command_refuses_communes_by_category_and_its_advice_works(demo_env, tmp_path):
    args = ["exporter", "--debut", "2023", "--fin", "2024", "--commune", "Onex"]
    result = CliRunner().invoke(
        app, [*args, "--categorie", "association", "--sortie", str(tmp_path)]
    )
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "Non publié à ce niveau de détail" in output and "--categorie association" in output
    assert "Traceback" not in result.output and not list(tmp_path.iterdir())
    advised = output.split(" : observatoire exporter ")[-1].split()
    assert advised == ["--debut", "2023", "--fin", "2024", "--commune", "6631"]
    result = CliRunner().invoke(app, ["exporter", *advised, "--sortie", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_the_command_refuses_communes_quarters_by_theme(demo_env, tmp_path):
    result = CliRunner().invoke(
        app,
        ["exporter", "--periode", "trimestre", "--theme", "hygiene", "--sortie", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "les trimestres des communes par thématique (--theme hygiene)" in " ".join(
        result.output.split()
    )
    assert not list(tmp_path.iterdir())


# --- Données -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_donnees_shows_the_nearest_published_selection_with_a_notice(demo_env, demo_db, lang):
    at = open_page("donnees.py", lang=lang, commune="6630", categorie=["*", "association"])
    text = notices(at)
    assert NOTICE[lang] in text
    assert ("catégorie de membres" if lang == "fr" else "member category") in text
    expected = public_rows(
        demo_db,
        """select count(*) as n from public.activity_year_cube
           where lieu = '6630' and category = '*' and theme <> '*'""",
    )["n"].item()
    rows = next(m for m in at.metric if m.label in ("Lignes", "Rows"))
    assert int(rows.value.replace("\u202f", "").replace(",", "")) == expected > 0
    assert "--categorie" not in at.code[-1].value  # the command given is the one shown
    assert len(at.get("download_button")) == 4


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_donnees_quarters_of_a_commune_by_theme_are_explained(demo_env, lang):
    at = open_page("donnees.py", lang=lang, periode="trimestre", theme="alimentation")
    text = notices(at)
    assert NOTICE[lang] in text and ("trimestre" if lang == "fr" else "quarter") in text


def test_donnees_published_detail_has_no_notice(demo_env):
    at = open_page("donnees.py", niveau="canton", categorie=["*", "association"])
    assert NOTICE["fr"] not in notices(at)
    assert "Ce qui est publié" in " ".join(e.proto.label for e in at.expander)


# --- Tendances -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_trends_communes_by_category_show_all_members_with_a_notice(demo_env, demo_db, lang):
    at = open_page(
        "trends.py", lang=lang, ventilation="lieu", communes=["6630", "GE"], categorie="association"
    )
    text = notices(at)
    assert NOTICE[lang] in text
    assert ("tous les membres réunis" if lang == "fr" else "all members together") in text
    lines = list(chart_series(at).values())
    assert lines[0] == published_line(
        demo_db, "activity_year_cube", "lieu = ? and theme = '*' and category = '*'", ["6630"]
    )
    assert lines[1] == published_line(
        demo_db, "activity_year_cube", "lieu = ? and theme = '*' and category = '*'", ["GE"]
    )


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_trends_categories_of_a_commune_show_the_canton(demo_env, demo_db, lang):
    at = open_page(
        "trends.py", lang=lang, ventilation="category", categories=["association"], lieu="6630"
    )
    text = notices(at)
    assert NOTICE[lang] in text
    assert ("canton de Genève" if lang == "fr" else "canton of Geneva") in text
    (line,) = chart_series(at).values()
    assert line == published_line(
        demo_db,
        "activity_year_cube",
        "lieu = 'GE' and theme = '*' and category = ?",
        ["association"],
    )


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_trends_quarters_of_a_commune_by_theme_show_the_canton(demo_env, demo_db, lang):
    at = open_page(
        "trends.py",
        lang=lang,
        pas="quarter",
        ventilation="theme",
        themes="alimentation",
        lieu="6630",
    )
    text = notices(at)
    assert NOTICE[lang] in text and ("trimestre" if lang == "fr" else "quarter") in text
    (line,) = chart_series(at).values()
    assert line == published_line(
        demo_db,
        "activity_quarter_cube",
        "lieu = 'GE' and theme = 'alimentation' and category = '*'",
        [],
    )


def test_trends_published_detail_has_no_notice(demo_env, demo_db):
    at = open_page("trends.py", ventilation="category", categories=["association"], lieu="GE")
    assert NOTICE["fr"] not in notices(at)
    (line,) = chart_series(at).values()
    assert line == published_line(
        demo_db,
        "activity_year_cube",
        "lieu = 'GE' and theme = '*' and category = ?",
        ["association"],
    )
    at = open_page("trends.py", pas="quarter", ventilation="lieu", communes=["6630"])
    assert NOTICE["fr"] not in notices(at)
    assert len(chart_series(at)) == 1
