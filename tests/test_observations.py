"""Remontées du terrain: the public feed against direct queries, the chart's counts, the commune
brief's list, and non-public observations absent from every public page, download and file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from admin_support import MEMBER, PUBLIC_TEXT, SECRET_MARKER, SECRET_TEXT, loaded_copy, rows
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from dashboard.components import observations as obs
from dashboard.data import query_text
from etl import db as etl_db
from etl.public import open_public_reader, public_path

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PUBLIC_VIEWS = sorted(
    path.name for path in (APP.parent / "views").glob("*.py") if path.name != "administration.py"
)
CAROUGE = 6608


@pytest.fixture(scope="module")
def loaded_db(demo_db, tmp_path_factory) -> Path:
    """The demo plus a member file holding one public and one non-public observation (Carouge)."""
    return loaded_copy(demo_db, tmp_path_factory.mktemp("observations"))


@pytest.fixture
def loaded_env(loaded_db, monkeypatch) -> Path:
    monkeypatch.setenv("OBSERVATOIRE_DB", str(loaded_db))
    return loaded_db


def feed(db_path: Path, **criteria) -> pl.DataFrame:
    """queries/observations_feed.sql on the PUBLIC file, as the page runs it."""
    params = {
        "themes": [],
        "communes": [],
        "levels": [],
        "date_from": None,
        "date_to": None,
        "words": [],
        **criteria,
    }
    con = open_public_reader(public_path(db_path))
    try:
        return etl_db.query(con, query_text("observations_feed"), params)
    finally:
        con.close()


def raw_texts(db_path: Path, where: str, params: list | None = None) -> list[str]:
    """Texts of the raw table's PUBLIC observations matching `where`, newest first."""
    return [
        text
        for (text,) in rows(
            db_path,
            f"""select texte from main.observations where is_public and ({where})
                order by obs_date desc, member_code, texte""",
            params,
        )
    ]


# --- the feed against the raw table -----------------------------------------------------------------


def test_feed_without_filters_is_every_public_observation(loaded_db):
    texts = feed(loaded_db)["texte"].to_list()
    assert texts == raw_texts(loaded_db, "true")
    assert PUBLIC_TEXT in texts and SECRET_TEXT not in texts


def test_feed_by_theme_commune_and_level(loaded_db):
    result = feed(loaded_db, themes=["alimentation"], communes=[CAROUGE], levels=["alerte"])
    expected = raw_texts(
        loaded_db, "theme = 'alimentation' and ofs_number = 6608 and niveau = 'alerte'"
    )
    assert result["texte"].to_list() == expected
    assert PUBLIC_TEXT in expected


def test_feed_by_period(loaded_db):
    result = feed(loaded_db, date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 6, 30))
    expected = raw_texts(loaded_db, "obs_date between date '2024-01-01' and date '2024-06-30'")
    assert expected
    assert result["texte"].to_list() == expected


def test_text_search_ignores_accents_case_and_order(loaded_db):
    assert feed(loaded_db, words=["marche", "record"])["texte"].to_list() == [PUBLIC_TEXT]
    # The non-public text cannot be found, even by its own words.
    assert feed(loaded_db, words=["secret", "marqueur"]).is_empty()
    assert feed(loaded_db, words=["confidentielle"]).is_empty()


def test_period_bounds():
    today = dt.date(2026, 3, 15)
    assert obs.period_bounds("tout", today) == (None, None)
    assert obs.period_bounds("2024", today) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert obs.period_bounds("12m", today) == (dt.date(2025, 3, 15), today)


def test_counts_over_time_keep_empty_months_and_switch_to_quarters():
    def frame(dates: list[dt.date], levels: list[str]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "obs_date": dates,
                "theme": ["sante"] * len(dates),
                "theme_label_fr": ["Santé"] * len(dates),
                "theme_label_en": ["Health"] * len(dates),
                "niveau": levels,
            }
        )

    short = frame(
        [dt.date(2025, 1, 5), dt.date(2025, 1, 20), dt.date(2025, 3, 2), dt.date(2025, 3, 9)],
        ["alerte", "alerte", "information", "alerte"],
    )
    counts, bucket = obs.counts_over_time(short, "alerte")
    assert bucket == "1mo"
    # January: 2 alerts, February: none (kept as 0), March: 1 alert.
    assert counts["n"].to_list() == [2, 0, 1]
    long = frame([dt.date(2022, 2, 1), dt.date(2022, 5, 1), dt.date(2024, 12, 31)], ["alerte"] * 3)
    counts, bucket = obs.counts_over_time(long, None)
    assert bucket == "1q"
    assert counts.height == 12  # 2022-Q1 … 2024-Q4
    assert counts["n"].sum() == 3 and counts["n"].to_list()[:2] == [1, 1]


# --- non-public observations never leave the raw file ----------------------------------------------


@pytest.fixture
def media(monkeypatch):
    """Every file offered for download during the AppTest runs of a test."""
    stores: list[MemoryMediaFileStorage] = []

    class Capturing(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Capturing)
    return stores


def _elements(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _elements(child)


def rendered(at: AppTest) -> str:
    """Everything the run sent to the browser: every element's message, tables' data included."""
    text = "\n".join(str(node.proto) for node in _elements(at._tree) if hasattr(node, "proto"))
    return text.replace("\\", "")  # Markdown escapes (« \- ») must not hide a marker


def downloads(stores: list[MemoryMediaFileStorage]) -> bytes:
    return b"\n".join(file.content for store in stores for file in store._files_by_id.values())


def test_public_file_holds_no_non_public_observation(loaded_db):
    con = open_public_reader(public_path(loaded_db))
    try:
        tables = etl_db.query(
            con, "select table_name from information_schema.tables where table_schema = 'public'"
        )["table_name"].to_list()
        for table in tables:
            frame = etl_db.query(con, f'select * from public."{table}"')
            text = frame.select(pl.col(pl.String)).write_csv()
            assert SECRET_MARKER not in text, table
    finally:
        con.close()
    # The raw file does hold it (so the check above could fail).
    assert rows(
        loaded_db,
        "select count(*) from main.observations where not is_public and contains(texte, ?)",
        [SECRET_MARKER],
    ) == [(1,)]


@pytest.mark.parametrize("view", PUBLIC_VIEWS)
def test_non_public_observation_absent_from_every_public_page(view, loaded_env, media):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["commune"] = str(CAROUGE)
    at.run()
    at.switch_page(f"views/{view}").run()
    assert not at.exception, [e.value for e in at.exception]
    assert SECRET_MARKER not in rendered(at)
    assert SECRET_MARKER.encode() not in downloads(media)


def test_public_observation_does_reach_the_public_pages(loaded_env, media):
    """The check above can fail: the public twin of the hidden observation is rendered."""
    for view in ("remontees.py", "fiche.py"):
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params["commune"] = str(CAROUGE)
        at.run()
        at.switch_page(f"views/{view}").run()
        assert "PUBLICMARQUEUR7Q" in rendered(at), view
    assert b"PUBLICMARQUEUR7Q" in downloads(media)  # the feed's CSV export


def test_remontees_page_filters_and_chart(loaded_env):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["commune"] = str(CAROUGE)
    at.query_params["gravite"] = "alerte"
    at.run()
    at.switch_page("views/remontees.py").run()
    assert not at.exception
    expected = raw_texts(loaded_env, "ofs_number = 6608 and niveau = 'alerte'")
    total = rows(loaded_env, "select count(*) from main.observations where is_public")[0][0]
    assert any(m.value.startswith(f"{len(expected)} observation(s)") for m in at.markdown)
    assert any(f"sur {total}" in m.value for m in at.markdown)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sum(sum(trace["y"]) for trace in spec["data"]) == len(expected)
    at.text_input(key="url_q").set_value("RECORD marché").run()
    assert at.query_params["q"] in ("RECORD marché", ["RECORD marché"])
    assert any(m.value.startswith("1 observation(s)") for m in at.markdown)


# --- the commune brief's list -----------------------------------------------------------------------


def _latest_script(ofs: int, n: int) -> None:
    from dashboard.components.observations import latest_observations

    latest_observations(ofs, n)


def test_latest_observations_of_a_commune(loaded_env):
    at = AppTest.from_function(_latest_script, args=(CAROUGE, 3), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    expected = raw_texts(loaded_env, "ofs_number = 6608")[:3]
    assert expected[0] == PUBLIC_TEXT  # the newest public one about Carouge
    shown = [m.value.replace("\\", "") for m in at.markdown]
    for text in expected:
        assert text in shown
    assert SECRET_MARKER not in rendered(at)
    assert MEMBER  # the member of the test file wrote both observations


def test_latest_observations_say_when_there_are_none(loaded_env):
    at = AppTest.from_function(_latest_script, args=(6601, 5), default_timeout=30).run()
    expected = raw_texts(loaded_env, "ofs_number = 6601")
    if expected:
        pytest.skip("the demo has observations about Aire-la-Ville")
    assert any("Aucune observation publique" in c.value for c in at.caption)
