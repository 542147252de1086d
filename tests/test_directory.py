"""Qui fait quoi: opening days, searches checked against direct queries on the raw tables, exports,
the HSDS 3.0 package checked against the specification's field lists."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from pathlib import Path

import polars as pl
import pytest
from admin_support import MEMBER, PERIOD, SERVICE_NAME, loaded_copy
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from dashboard.components import directory as d
from dashboard.data import query_text
from etl import db as etl_db
from etl import hsds

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"

# The directory straight from the raw tables, written here independently of the public view: for
# each member, the services of its most recent period that has services (latest end date, then the
# latest load).
RAW_DIRECTORY = """
with
    candidates as (
        select distinct s.member_code, s.period_code, p.end_date, sub.loaded_at
        from main.services as s
        join main.periods as p on p.code = s.period_code
        join main.submissions as sub
            on sub.member_code = s.member_code and sub.period_code = s.period_code
    ),
    latest as (
        select member_code, max_by(period_code, (end_date, loaded_at)) as period_code
        from candidates
        group by member_code
    )
select s.*, m.name as member_name
from main.services as s
join latest as l using (member_code, period_code)
join main.members as m on m.code = s.member_code
"""


def raw(demo_db: Path, where: str, params: list | None = None) -> set[tuple[str, int]]:
    """(member, service number) of the raw directory's services matching `where`."""
    con = etl_db.open_reader(demo_db)
    try:
        frame = etl_db.query(
            con, f"select member_code, service_no from ({RAW_DIRECTORY}) where {where}", params
        )
    finally:
        con.close()
    return set(frame.iter_rows())


@pytest.fixture(scope="module")
def loaded_db(demo_db, tmp_path_factory) -> Path:
    """The demo plus one member file whose service serves two communes only (the demo's services
    all serve the whole canton, which would make commune searches trivial)."""
    return loaded_copy(demo_db, tmp_path_factory.mktemp("directory"))


@pytest.fixture(scope="module")
def directory(loaded_db) -> pl.DataFrame:
    con = etl_db.open_reader(loaded_db)
    try:
        frame = etl_db.query(con, query_text("directory_services"))
    finally:
        con.close()
    return d.prepare(frame)


def found(directory: pl.DataFrame, criteria: d.Criteria) -> set[tuple[str, int]]:
    return set(
        d.filter_directory(directory, criteria).select("member_code", "service_no").iter_rows()
    )


# --- opening days -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("lu–ve 9h–12h", {0, 1, 2, 3, 4}),
        ("Du lundi au vendredi, 8h30-17h", {0, 1, 2, 3, 4}),
        ("ma et je 14h–18h", {1, 3}),
        ("lu, me, ve 13h30–17h", {0, 2, 4}),
        ("sa 9h–12h", {5}),
        ("Samedi matin", {5}),
        ("7j/7, 19h–8h", {0, 1, 2, 3, 4, 5, 6}),
        ("Tous les jours sauf dimanche", {0, 1, 2, 3, 4, 5}),
        ("tous les soirs dès 20h", {0, 1, 2, 3, 4, 5, 6}),
        ("me 13h–19h, ve 16h–22h", {2, 4}),
        ("ven.-lun. 18h", {4, 5, 6, 0}),
        ("week-end 10h-16h", {5, 6}),
        ("sur rendez-vous", set()),
        (None, set()),
    ],
)
def test_opening_days_are_read_from_the_hours_text(text, days):
    assert d.open_days(text) == days


def test_ical_days():
    assert d.ical_days(frozenset({5, 0, 4})) == "MO,FR,SA"


# --- searches against the raw tables ----------------------------------------------------------------


def test_directory_holds_each_members_latest_services(loaded_db, directory):
    expected = raw(loaded_db, "true")
    assert expected, "the demo database should list services"
    assert found(directory, d.Criteria()) == expected
    # The member's newest file (2025-T1) lists one service: it replaces its older ones.
    mine = directory.filter(pl.col("member_code") == MEMBER)
    assert mine["nom"].to_list() == [SERVICE_NAME]
    assert mine["period_code"].to_list() == [PERIOD]


def test_search_by_theme(loaded_db, directory):
    expected = raw(loaded_db, "theme = ?", ["alimentation"])
    assert expected
    assert found(directory, d.Criteria(themes=("alimentation",))) == expected


@pytest.mark.parametrize(("ofs", "has_test_service"), [(6608, True), (6631, True), (6640, False)])
def test_search_by_commune_served(loaded_db, directory, ofs, has_test_service):
    """Located in the commune, serving it, or serving the whole canton."""
    expected = raw(
        loaded_db,
        "ofs_number = $1 or tout_le_canton or list_contains(communes_desservies, $1)",
        [ofs],
    )
    everything = raw(loaded_db, "true")
    result = found(directory, d.Criteria(communes=(ofs,)))
    assert result == expected
    assert ((MEMBER, 1) in result) == has_test_service
    assert has_test_service or result != everything


@pytest.mark.parametrize("ofs", [6608, 6621])
def test_search_by_commune_located(loaded_db, directory, ofs):
    expected = raw(loaded_db, "ofs_number = ?", [ofs])
    assert expected
    assert found(directory, d.Criteria(communes=(ofs,), scope=d.SCOPE_LOCATED)) == expected


def test_search_by_theme_and_several_communes(loaded_db, directory):
    expected = raw(
        loaded_db,
        """theme = 'hebergement' and (ofs_number in (6608, 6643) or tout_le_canton
           or list_has_any(communes_desservies, [6608, 6643]))""",
    )
    criteria = d.Criteria(themes=("hebergement",), communes=(6608, 6643))
    assert found(directory, criteria) == expected


def test_search_by_type_and_language(loaded_db, directory):
    expected = raw(
        loaded_db,
        "lower(trim(type)) = 'consultation' or lower(trim(type)) = 'permanence'",
    )
    assert expected
    assert found(directory, d.Criteria(types=("consultation", "permanence"))) == expected
    languages = raw(
        loaded_db, "list_contains(list_transform(langues, lambda x: lower(trim(x))), 'arabe')"
    )
    assert languages
    assert found(directory, d.Criteria(languages=("arabe",))) == languages


def test_search_open_on_saturday(loaded_db, directory):
    """Hand-checked against the demo's hours: « sa », « lu–sa », « 7j/7 », « tous les soirs »."""
    expected = raw(loaded_db, r"regexp_matches(horaires, '(^|\W)sa(\W|$)|7j/7|tous les soirs')")
    assert expected
    assert found(directory, d.Criteria(day=5)) == expected


def test_free_text_search_ignores_case_and_accents(loaded_db, directory):
    expected = raw(
        loaded_db,
        """strip_accents(lower(concat_ws(' ', nom, conditions_acces, adresse))) like '%attestation%'
           or strip_accents(lower(nom)) like '%attestation%'""",
    )
    assert expected
    assert found(directory, d.Criteria(text="ATTESTATION")) == expected
    genève = raw(loaded_db, "strip_accents(lower(concat_ws(' ', adresse, nom))) like '%geneve%'")
    assert found(directory, d.Criteria(text="genève")) >= genève


def test_services_by_commune_counts_canton_wide_services_everywhere():
    frame = pl.DataFrame(
        {
            "ofs_number": [6608, 6621, None],
            "communes_desservies": [[6608, 6612], None, []],
            "tout_le_canton": [False, True, False],
        },
        schema={
            "ofs_number": pl.Int32,
            "communes_desservies": pl.List(pl.Int32),
            "tout_le_canton": pl.Boolean,
        },
    )
    communes = pl.DataFrame(
        {"ofs_number": [6608, 6612, 6621, 6640], "name": ["Carouge", "Chêne", "Genève", "Vernier"]}
    )
    counts = {
        row["ofs_number"]: (row["situes"], row["desservant"])
        for row in d.services_by_commune(frame, communes).to_dicts()
    }
    # Carouge: the first service is there and serves it, plus the canton-wide one.
    assert counts == {6608: (1, 2), 6612: (0, 2), 6621: (1, 1), 6640: (0, 1)}


# --- the page ----------------------------------------------------------------------------------------


@pytest.fixture
def media(monkeypatch):
    """The files of the download buttons of the last AppTest run, by their media URL."""
    stores: list[MemoryMediaFileStorage] = []

    class Capturing(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Capturing)
    return lambda url: stores[-1].get_file(url.rsplit("/", 1)[-1]).content


@pytest.fixture
def loaded_env(loaded_db, monkeypatch) -> Path:
    monkeypatch.setenv("OBSERVATOIRE_DB", str(loaded_db))
    return loaded_db


def open_directory(**params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page("views/qui_fait_quoi.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_filters_from_the_url_and_exports_the_selection(loaded_env, media):
    expected = raw(
        loaded_env,
        """theme = 'alimentation'
           and (ofs_number = 6631 or tout_le_canton or list_contains(communes_desservies, 6631))""",
    )
    total = len(raw(loaded_env, "true"))
    assert (MEMBER, 1) in expected and len(expected) < total
    at = open_directory(theme="alimentation", commune="6631")
    assert at.multiselect(key="url_theme").value == ["alimentation"]
    assert at.multiselect(key="url_commune").value == [6631]
    assert any(m.value.startswith(f"{len(expected)} service(s) sur {total}") for m in at.markdown)
    buttons = {button.label: button for button in at.get("download_button")}
    exported = list(
        csv.DictReader(io.StringIO(media(buttons["CSV"].proto.url).decode("utf-8-sig")))
    )
    assert {(row["code_membre"], row["service"]) for row in exported} == {
        (member, name) for member, name in _names(loaded_env, expected)
    }
    assert all(row["theme_code"] == "alimentation" for row in exported)


def _names(demo_db: Path, keys: set[tuple[str, int]]) -> set[tuple[str, str]]:
    con = etl_db.open_reader(demo_db)
    try:
        frame = etl_db.query(con, f"select member_code, service_no, nom from ({RAW_DIRECTORY})")
    finally:
        con.close()
    return {(m, nom) for m, no, nom in frame.iter_rows() if (m, no) in keys}


def test_page_search_box_and_day_go_to_the_url(loaded_env):
    at = open_directory()
    at.text_input(key="url_q").set_value("attestation").run()
    at.selectbox(key="url_jour").set_value("samedi").run()
    assert at.query_params["q"] in ("attestation", ["attestation"])
    assert at.query_params["jour"] in ("samedi", ["samedi"])
    assert not at.exception
    # The test service (« sur attestation », open « sa 9h–12h ») is found, with its details.
    cards = " ".join(m.value for m in at.markdown)
    assert d.md_escape(SERVICE_NAME) in cards and "sa 9h–12h" in cards


def test_map_click_becomes_the_commune_filter(loaded_env):
    at = open_directory()
    at.session_state["directory_map"] = {"selection": {"points": [{"location": 6621}]}}
    at.run()
    assert at.multiselect(key="url_commune").value == [6621]


# --- HSDS 3.0 ---------------------------------------------------------------------------------------

# Field names per table, from the HSDS 3.0 tabular schema (openreferral/specification,
# schema/compiled/tabular.json): `required` plus `tabular_required`.
HSDS_REQUIRED = {
    "organizations.csv": {"id", "name", "description"},
    "services.csv": {"id", "name", "status", "organization_id"},
    "locations.csv": {"id", "location_type"},
    "service_areas.csv": {"id"},
    "taxonomy_terms.csv": {"id", "name", "description"},
    "taxonomies.csv": {"id", "name", "description"},
    "addresses.csv": {
        "id",
        "address_1",
        "city",
        "state_province",
        "postal_code",
        "country",
        "address_type",
    },
    "service_at_location.csv": {"id", "service_id", "location_id"},
    "attributes.csv": {"id", "link_id", "taxonomy_term_id", "link_entity"},
    "phones.csv": {"id", "number"},
    "schedules.csv": {"id"},
    "languages.csv": {"id"},
    "organization_identifiers.csv": {"id", "organization_id", "identifier_type", "identifier"},
}
# Every (non-array) field the specification defines for the main tables: no invented column.
HSDS_FIELDS = {
    "organizations.csv": {
        "id", "name", "alternate_name", "description", "email", "website", "tax_status",
        "tax_id", "year_incorporated", "legal_status", "logo", "uri", "parent_organization_id",
    },
    "services.csv": {
        "id", "organization_id", "program_id", "name", "alternate_name", "description", "url",
        "email", "status", "interpretation_services", "application_process", "fees_description",
        "wait_time", "fees", "accreditations", "eligibility_description", "minimum_age",
        "maximum_age", "assured_date", "assurer_email", "licenses", "alert", "last_modified",
    },
    "locations.csv": {
        "id", "location_type", "url", "organization_id", "name", "alternate_name", "description",
        "transportation", "latitude", "longitude", "external_identifier",
        "external_identifier_type",
    },
    "service_areas.csv": {"id", "service_id", "name", "description", "extent", "extent_type", "uri"},
    "taxonomy_terms.csv": {
        "id", "code", "name", "description", "parent_id", "taxonomy", "language", "taxonomy_id",
        "term_uri",
    },
}  # fmt: skip
SERVICE_STATUSES = {"active", "inactive", "defunct", "temporarily closed"}
LOCATION_TYPES = {"physical", "postal", "virtual"}


@pytest.fixture(scope="module")
def hsds_package(demo_db, directory) -> dict[str, list[dict]]:
    con = etl_db.open_reader(demo_db)
    try:
        members = etl_db.query(con, query_text("directory_members"))
        themes = etl_db.query(con, query_text("ref_themes"))
        communes = etl_db.query(con, query_text("ref_communes"))
    finally:
        con.close()
    archive = zipfile.ZipFile(io.BytesIO(hsds.build_zip(directory, members, themes, communes)))
    package = {
        name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
        for name in archive.namelist()
        if name.endswith(".csv")
    }
    package["datapackage.json"] = json.loads(archive.read("datapackage.json"))
    headers = {
        name: next(csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))
        for name in archive.namelist()
        if name.endswith(".csv")
    }
    package["_headers"] = headers
    return package


def test_hsds_tables_have_the_required_fields_filled(hsds_package):
    for name, required in HSDS_REQUIRED.items():
        assert required <= set(hsds_package["_headers"][name]), name
        for row in hsds_package[name]:
            missing = [field for field in required if not row[field]]
            assert not missing, (name, missing, row)


def test_hsds_main_tables_use_only_specification_fields(hsds_package):
    for name, fields in HSDS_FIELDS.items():
        assert set(hsds_package["_headers"][name]) <= fields, name


def test_hsds_identifiers_are_unique_uuids_and_links_resolve(hsds_package):
    ids = {}
    for name in HSDS_REQUIRED:
        values = [row["id"] for row in hsds_package[name]]
        assert len(values) == len(set(values)), name
        for value in values:
            uuid.UUID(value)
        ids[name] = set(values)
    links = [
        ("services.csv", "organization_id", "organizations.csv"),
        ("service_at_location.csv", "service_id", "services.csv"),
        ("service_at_location.csv", "location_id", "locations.csv"),
        ("service_areas.csv", "service_id", "services.csv"),
        ("attributes.csv", "link_id", "services.csv"),
        ("attributes.csv", "taxonomy_term_id", "taxonomy_terms.csv"),
        ("taxonomy_terms.csv", "taxonomy_id", "taxonomies.csv"),
        ("addresses.csv", "location_id", "locations.csv"),
    ]
    for table, field, target in links:
        assert {row[field] for row in hsds_package[table]} <= ids[target], (table, field)


def test_hsds_content_matches_the_directory(hsds_package, directory):
    services = hsds_package["services.csv"]
    assert len(services) == directory.height
    assert {row["status"] for row in services} <= SERVICE_STATUSES
    assert {row["location_type"] for row in hsds_package["locations.csv"]} <= LOCATION_TYPES
    first = directory.sort("member_code", "service_no").row(0, named=True)
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://www.capas-ge.ch/observatoire-social/hsds")
    service_id = str(uuid.uuid5(namespace, f"service:{first['member_code']}:{first['service_no']}"))
    row = next(row for row in services if row["id"] == service_id)
    assert row["name"] == first["nom"]
    assert row["organization_id"] == str(
        uuid.uuid5(namespace, f"organization:{first['member_code']}")
    )
    terms = {row["code"]: row for row in hsds_package["taxonomy_terms.csv"]}
    assert len(terms) == 18 and "alimentation" in terms and "lien_social" in terms
    canton_wide = directory.filter(pl.col("tout_le_canton")).height
    canton_areas = [a for a in hsds_package["service_areas.csv"] if a["name"] == "Canton de Genève"]
    assert len(canton_areas) == canton_wide


def test_hsds_datapackage_describes_every_file(hsds_package):
    descriptor = hsds_package["datapackage.json"]
    assert descriptor["profile"] == "tabular-data-package"
    resources = {resource["path"]: resource for resource in descriptor["resources"]}
    assert set(resources) == set(hsds_package["_headers"])
    for path, resource in resources.items():
        fields = [field["name"] for field in resource["schema"]["fields"]]
        assert fields == hsds_package["_headers"][path], path
        assert resource["count"] == len(hsds_package[path])


def test_hsds_identifiers_are_stable(demo_db, directory):
    con = etl_db.open_reader(demo_db)
    try:
        inputs = [
            etl_db.query(con, query_text(name))
            for name in ("directory_members", "ref_themes", "ref_communes")
        ]
    finally:
        con.close()
    first = hsds.build_tables(directory, *inputs)
    second = hsds.build_tables(directory.reverse(), *inputs)
    for name in first:
        assert set(first[name]["id"].to_list()) == set(second[name]["id"].to_list()), name


@pytest.mark.parametrize(
    ("written", "lang", "shown"),
    [
        ("hébergement", "en", "Accommodation"),
        ("Hebergement ", "fr", "Hébergement"),
        ("LIGNE TÉLÉPHONIQUE", "en", "Helpline"),
        ("accueil de jour", "en", "Day centre"),
        ("maraude de nuit", "en", "Maraude de nuit"),  # a member's own word: as written
        ("", "en", None),
        (None, "fr", None),
    ],
)
def test_service_types_in_the_readers_language(written, lang, shown):
    assert d.service_type_label(written, lang) == shown


def test_page_in_english_shows_service_types_in_english(loaded_env):
    at = open_directory(lang="en")
    options = at.multiselect(key="url_type").options
    assert {"Distribution", "Drop-in hours"} <= set(options)  # the test member's, and the demo's
    french_only = {"permanence", "hébergement", "accueil de jour", "ligne téléphonique", "atelier"}
    assert not french_only & {option.lower() for option in options}
