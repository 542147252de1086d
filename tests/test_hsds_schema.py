"""The directory's HSDS export validates against the official HSDS 3.0 JSON schemas (issue #14
item 11), vendored with their licence in tests/data/hsds/ (SOURCE.md says from which commit).

Two validations, with format checking on (date-time, uri, email, uuid…):
- every CSV of the package, as the tabular form: `tabular.json` (one array of rows per table), plus
  the `tabular_required` fields the schemas list beside `required`;
- every service assembled as the nested object HSDS platforms exchange (its organization, phones,
  schedules, areas, locations with their addresses, languages, attributes with their taxonomy
  terms), against `schema/service.json`, whose references to the other files are resolved.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from test_reliability_support import publish_copy

from dashboard.components import directory as d
from dashboard.data import query_text
from etl import db as etl_db
from etl import hsds
from etl.submission.load import load_files

pytest_plugins = ["test_reliability_support"]

SCHEMAS = Path(__file__).resolve().parent / "data" / "hsds"
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def tabular_schema() -> dict:
    return json.loads((SCHEMAS / "tabular.json").read_text(encoding="utf-8"))


def object_schemas() -> dict[str, dict]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((SCHEMAS / "schema").glob("*.json"))
    }


def validator(schema: dict, registry: Registry | None = None):
    cls = jsonschema.Draft202012Validator
    if registry is None:
        return cls(schema, format_checker=FORMATS)
    return cls(schema, format_checker=FORMATS, registry=registry)


def problems(validator_, instance) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator_.iter_errors(instance)
    ]


def typed(row: dict[str, str], properties: dict) -> dict:
    """A CSV row as the JSON object HSDS describes: empty cells absent, numbers as numbers."""
    out = {}
    for name, text in row.items():
        if text in ("", None):
            continue
        kind = properties.get(name, {}).get("type")
        out[name] = float(text) if kind == "number" else int(text) if kind == "integer" else text
    return out


@pytest.fixture(scope="module")
def hostile_db(published_base, tmp_path_factory) -> Path:
    """The submission tests' base with the accepted files of the bad-inputs corpus loaded, the
    hostile directory entry among them (`=HYPERLINK`, `<script>`, emoji…)."""
    from test_bad_inputs import ACCEPTED, corpus_path

    db_path = publish_copy(published_base, tmp_path_factory.mktemp("hsds") / "obs.duckdb")
    results = load_files([corpus_path(name) for name in ACCEPTED], db_path)
    assert [r.status for r in results] == ["charge"] * len(ACCEPTED)
    return db_path


@pytest.fixture(scope="module", params=["demo", "corpus"])
def package(request) -> dict[str, list[dict[str, str]]]:
    """The HSDS files of a whole directory (the demo's, the hostile corpus's), read back from the
    zip as the page offers it."""
    source = request.getfixturevalue("demo_db" if request.param == "demo" else "hostile_db")
    con = etl_db.open_reader(source)
    try:
        frames = {
            name: etl_db.query(con, query_text(name))
            for name in ("directory_services", "directory_members", "ref_themes", "ref_communes")
        }
    finally:
        con.close()
    archive = zipfile.ZipFile(
        io.BytesIO(
            hsds.build_zip(
                d.prepare(frames["directory_services"]),
                frames["directory_members"],
                frames["ref_themes"],
                frames["ref_communes"],
            )
        )
    )
    return {
        name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
        for name in archive.namelist()
        if name.endswith(".csv")
    }


def test_the_format_checks_are_really_on():
    """Without rfc3339-validator and friends, jsonschema skips these formats without a word."""
    assert {"date-time", "date", "uri", "email", "uuid"} <= set(FORMATS.checkers)
    assert not FORMATS.conforms("2026-12-06T10:00:00", "date-time")  # no UTC offset
    assert FORMATS.conforms("2026-12-06T10:00:00+01:00", "date-time")
    assert not FORMATS.conforms("www.example.ch", "uri")


def test_every_table_validates_against_the_tabular_schema(package):
    schema = tabular_schema()
    tables = {
        spec["items"]["path"]: (key, spec["items"]) for key, spec in schema["properties"].items()
    }
    assert set(package) <= set(tables), set(package) - set(tables)
    document, missing = {}, []
    for file_name, rows in package.items():
        key, item = tables[file_name]
        document[key] = [typed(row, item["properties"]) for row in rows]
        for required in item.get("tabular_required", []):
            missing += [f"{file_name}: {required}" for row in rows if not row.get(required)]
    assert document["service"], "the directory has services"
    assert problems(validator(schema), document) == []
    assert missing == []
    print(
        f"\nFIGURE | HSDS 3.0 tabulaire : {sum(map(len, package.values()))} lignes dans "
        f"{len(package)} fichiers validées (formats compris), 0 erreur"
    )


def nested_services(package: dict[str, list[dict]], schemas: dict[str, dict]) -> list[dict]:
    """Each service as a nested HSDS object, built from the tables by their links."""

    def rows(file_name: str, schema_name: str) -> list[dict]:
        properties = schemas[schema_name]["properties"]
        return [typed(row, properties) for row in package.get(file_name, [])]

    def by(items: list[dict], field: str) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = {}
        for item in items:
            grouped.setdefault(item.get(field), []).append(item)
        return grouped

    organizations = {o["id"]: o for o in rows("organizations.csv", "organization.json")}
    terms = {t["id"]: t for t in rows("taxonomy_terms.csv", "taxonomy_term.json")}
    locations = {loc["id"]: loc for loc in rows("locations.csv", "location.json")}
    addresses = by(rows("addresses.csv", "address.json"), "location_id")
    for location_id, location in locations.items():
        location["addresses"] = addresses.get(location_id, [])
    attributes = by(rows("attributes.csv", "attribute.json"), "link_id")
    linked = {
        "phones": by(rows("phones.csv", "phone.json"), "service_id"),
        "schedules": by(rows("schedules.csv", "schedule.json"), "service_id"),
        "service_areas": by(rows("service_areas.csv", "service_area.json"), "service_id"),
        "languages": by(rows("languages.csv", "language.json"), "service_id"),
    }
    at_locations = by(rows("service_at_location.csv", "service_at_location.json"), "service_id")
    services = []
    for service in rows("services.csv", "service.json"):
        nested = dict(service, organization=organizations[service["organization_id"]])
        for name, grouped in linked.items():
            nested[name] = grouped.get(service["id"], [])
        nested["service_at_locations"] = [
            dict(link, location=locations[link["location_id"]])
            for link in at_locations.get(service["id"], [])
        ]
        nested["attributes"] = [
            dict(attribute, taxonomy_term=terms[attribute["taxonomy_term_id"]])
            for attribute in attributes.get(service["id"], [])
        ]
        services.append(nested)
    return services


def test_every_service_validates_as_a_nested_hsds_object(package):
    schemas = object_schemas()
    registry = Registry().with_resources(
        (name, Resource.from_contents(schema, default_specification=DRAFT202012))
        for name, schema in schemas.items()
    )
    check = validator(schemas["service.json"], registry)
    services = nested_services(package, schemas)
    assert services
    found = [f"{s['name']}: {p}" for s in services for p in problems(check, s)]
    assert found == []


def test_last_modified_carries_its_utc_offset(package):
    stamps = [row["last_modified"] for row in package["services.csv"]]
    assert stamps and all(FORMATS.conforms(stamp, "date-time") for stamp in stamps)


@pytest.mark.parametrize(
    ("contact", "email", "url"),
    [
        ("info@aide.ch, www.aide.ch", "info@aide.ch", "https://www.aide.ch"),
        ("Site : https://aide.ch/accueil.", None, "https://aide.ch/accueil"),
        ("(www.aide.ch)", None, "https://www.aide.ch"),
        # An accented host name is written in its ASCII form (IDNA), as a URI must be.
        ("www.aide-genève.ch", None, f"https://www.{'aide-genève'.encode('idna').decode()}.ch"),
        ("022 123 45 67", None, None),
        ("www.aide.ch:99999", None, None),  # not a port: no address rather than a wrong one
    ],
)
def test_contacts_give_addresses_that_the_formats_accept(contact, email, url):
    found_email, found_url, _ = hsds.package._contact_parts(contact)
    assert (found_email, found_url) == (email, url)
    if found_url:
        assert FORMATS.conforms(found_url, "uri")
