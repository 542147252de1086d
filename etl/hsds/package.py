"""The directory's HSDS 3.0 package: one CSV per table and a datapackage.json, zipped (what the
fields are: etl/hsds/spec.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import urllib.parse
import uuid
import zipfile

import polars as pl

from etl.hsds.spec import (
    FIELD_SOURCES,
    FOREIGN_KEYS,
    HSDS_FIELDS,
    HSDS_VERSION,
    LANGUAGE_CODES,
    NAMESPACE,
    TAXONOMY_KEY,
)
from etl.opening_hours import ical_days, open_days
from etl.spreadsheet import to_csv
from etl.text import normalise_key

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)[^\s,;]+", re.IGNORECASE)
_PHONE = re.compile(r"(?:\+|00)?\d[\d .\u00a0/-]{7,}\d")
# « 1205 Genève »: a Swiss postcode of the Geneva area (12xx) and the locality written after it.
_POSTCODE_LOCALITY = re.compile(r"\b(12\d\d)\b\s*([^,;\d][^,;]*)?")


def stable_id(*parts: object) -> str:
    """A UUID that stays the same for the same key (uuid5 in the observatory's namespace)."""
    return str(uuid.uuid5(NAMESPACE, ":".join(str(part) for part in parts)))


def organization_id(member_code: str) -> str:
    return stable_id("organization", member_code)


def service_id(member_code: str, service_no: int) -> str:
    return stable_id("service", member_code, service_no)


def theme_term_id(code: str) -> str:
    return stable_id("taxonomy_term", TAXONOMY_KEY, code)


def _table(name: str, rows: list[dict]) -> pl.DataFrame:
    """Rows as a frame with exactly the HSDS columns of `name`, in order, every value as text."""
    columns = [field for field, _, _ in HSDS_FIELDS[name]]
    data = {column: [_text(row.get(column)) for row in rows] for column in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        # RFC 3339 (HSDS `format: date-time`) needs the UTC offset: a time stored without one is
        # the server's local time (Geneva), as the loads record it.
        return value.astimezone().isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _add_organizations(
    tables: dict[str, list[dict]],
    directory: pl.DataFrame,
    members: pl.DataFrame,
    labels: dict[str, str],
) -> None:
    """One organization (and its CAPAS member code as identifier) per member in the directory."""
    in_directory = directory["member_code"].unique().to_list()
    for member in (
        members.filter(pl.col("code").is_in(in_directory)).sort("code").iter_rows(named=True)
    ):
        org_id = organization_id(member["code"])
        categories = ", ".join(member.get("categories") or [])
        themes = ", ".join(labels.get(code, code) for code in member.get("themes") or [])
        tables["organizations.csv"].append(
            {
                "id": org_id,
                "name": member["name"],
                "description": f"Membre de la CAPAS ({categories or 'membre'}). "
                f"Thèmes : {themes or '—'}.",
                "legal_status": categories or None,
            }
        )
        tables["organization_identifiers.csv"].append(
            {
                "id": stable_id("organization_identifier", member["code"]),
                "organization_id": org_id,
                "identifier_type": "Code membre CAPAS",
                "identifier": member["code"],
            }
        )


def _contact_parts(contact: str | None) -> tuple[str | None, str | None, list[str]]:
    """(email, url, phone numbers) found in a free-text contact."""
    if not contact:
        return None, None, []
    email = _EMAIL.search(contact)
    without_email = _EMAIL.sub(" ", contact)
    url = _URL.search(without_email)
    phones = _PHONE.findall(_URL.sub(" ", without_email))
    website = _website(url.group(0)) if url else None
    return (
        email.group(0) if email else None,
        website,
        [phone.strip() for phone in phones],
    )


def _website(found: str) -> str | None:
    """A web address found in a text as a URI (RFC 3986): without the punctuation that ends the
    sentence or closes a parenthesis, with a scheme, its host in ASCII (IDNA), its path encoded."""
    url = found.rstrip(".,;:!?»")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    if not url.lower().startswith("http"):
        url = f"https://{url}"
    parts = urllib.parse.urlsplit(url)
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port
    except (UnicodeError, ValueError):  # not a host name, or not a port number
        return None
    if not host:
        return None
    netloc = f"{host}:{port}" if port else host
    safe = "/:@!$&'()*+,;=-._~%"
    path, query = (urllib.parse.quote(part, safe=safe + "?") for part in (parts.path, parts.query))
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


def _location_key(row: dict) -> str:
    return stable_id(
        "location", row["member_code"], normalise_key(row["adresse"] or ""), row["lieu"]
    )


def build_tables(
    directory: pl.DataFrame, members: pl.DataFrame, themes: pl.DataFrame, communes: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """Every HSDS file of the directory, keyed by file name.

    `directory` has the columns of queries/directory_services.sql; `members` code, name, categories,
    themes; `themes` code, label_fr, label_en; `communes` ofs_number, name.
    """
    labels = dict(zip(themes["code"].to_list(), themes["label_fr"].to_list(), strict=True))
    commune_names = dict(
        zip(communes["ofs_number"].to_list(), communes["name"].to_list(), strict=True)
    )
    tables: dict[str, list[dict]] = {name: [] for name in HSDS_FIELDS}
    _add_organizations(tables, directory, members, labels)
    _add_taxonomy(tables, themes)
    seen_locations: set[str] = set()
    for row in directory.sort("member_code", "service_no").iter_rows(named=True):
        _add_service(tables, row, labels, commune_names, seen_locations)
    return {name: _table(name, rows) for name, rows in tables.items()}


def _add_taxonomy(tables: dict[str, list[dict]], themes: pl.DataFrame) -> None:
    taxonomy_id = stable_id("taxonomy", TAXONOMY_KEY)
    tables["taxonomies.csv"].append(
        {
            "id": taxonomy_id,
            "name": "Thèmes de l'Observatoire social de la CAPAS",
            "description": "Les 18 thèmes de l'action sociale genevoise utilisés par "
            "l'Observatoire social de la CAPAS (codes stables, libellés en français et en anglais).",
            "version": "1",
        }
    )
    for theme in themes.sort("sort_order").iter_rows(named=True):
        tables["taxonomy_terms.csv"].append(
            {
                "id": theme_term_id(theme["code"]),
                "code": theme["code"],
                "name": theme["label_fr"],
                "description": f"{theme['label_fr']} (en : {theme['label_en']})",
                "taxonomy": "Observatoire social CAPAS — thèmes",
                "language": "fr",
                "taxonomy_id": taxonomy_id,
            }
        )


# Longer than 60 lines: one service's rows in the HSDS tables (service, attribute,
# phones, location, areas, schedule, languages), each a dict of the standard's fields.
def _add_service(
    tables: dict[str, list[dict]],
    row: dict,
    labels: dict[str, str],
    commune_names: dict[int, str],
    seen_locations: set[str],
) -> None:
    member, number = row["member_code"], row["service_no"]
    sid = service_id(member, number)
    email, url, phones = _contact_parts(row["contact"])
    description = " — ".join(
        part
        for part in (
            (row["type"] or "").strip().capitalize() or None,
            f"capacité : {row['capacite']}" if row.get("capacite") is not None else None,
            labels.get(row["theme"], row["theme"]),
        )
        if part
    )
    loaded_at = row.get("loaded_at")
    tables["services.csv"].append(
        {
            "id": sid,
            "organization_id": organization_id(member),
            "name": row["nom"],
            "description": description,
            "url": url,
            "email": email,
            "status": "active",
            "eligibility_description": row["conditions_acces"],
            "assured_date": loaded_at.date() if loaded_at else None,
            "last_modified": loaded_at,
        }
    )
    tables["attributes.csv"].append(
        {
            "id": stable_id("attribute", sid, row["theme"]),
            "link_id": sid,
            "taxonomy_term_id": theme_term_id(row["theme"]),
            "link_type": "theme",
            "link_entity": "service",
        }
    )
    for index, phone in enumerate(phones):
        tables["phones.csv"].append(
            {
                "id": stable_id("phone", sid, index),
                "service_id": sid,
                "number": phone,
                "type": "voice",
            }
        )
    _add_location(tables, row, sid, commune_names, seen_locations)
    _add_service_areas(tables, row, sid, commune_names)
    if row["horaires"]:
        days = open_days(row["horaires"])
        tables["schedules.csv"].append(
            {
                "id": stable_id("schedule", sid),
                "service_id": sid,
                "freq": "WEEKLY" if days else None,
                "byday": ical_days(days) or None,
                "description": row["horaires"],
            }
        )
    for language in row["langues"] or []:
        tables["languages.csv"].append(
            {
                "id": stable_id("language", sid, normalise_key(language)),
                "service_id": sid,
                "name": language,
                "code": LANGUAGE_CODES.get(normalise_key(language)),
            }
        )


def _add_location(
    tables: dict[str, list[dict]],
    row: dict,
    sid: str,
    commune_names: dict[int, str],
    seen_locations: set[str],
) -> None:
    if row["ofs_number"] is None and not row["adresse"]:
        return  # outside the canton with no address: nothing to locate
    location_id = _location_key(row)
    commune = commune_names.get(row["ofs_number"]) if row["ofs_number"] is not None else None
    if location_id not in seen_locations:
        seen_locations.add(location_id)
        tables["locations.csv"].append(
            {
                "id": location_id,
                "location_type": "physical",
                "organization_id": organization_id(row["member_code"]),
                "name": row["adresse"] or commune,
                "description": ", ".join(p for p in (row["adresse"], commune) if p) or None,
                "external_identifier": row["ofs_number"],
                "external_identifier_type": "numéro OFS de la commune"
                if row["ofs_number"] is not None
                else None,
            }
        )
        postal = _POSTCODE_LOCALITY.search(row["adresse"] or "")
        # HSDS requires street, city, postcode and country: an address is written only when complete.
        if row["adresse"] and postal and commune:
            street = row["adresse"].split(",")[0].strip()
            locality = re.sub(r"\(.*?\)", "", postal.group(2) or "").strip() or commune
            tables["addresses.csv"].append(
                {
                    "id": stable_id("address", location_id),
                    "location_id": location_id,
                    "address_1": street,
                    "city": locality,
                    "state_province": "GE",
                    "postal_code": postal.group(1),
                    "country": "CH",
                    "address_type": "physical",
                }
            )
    tables["service_at_location.csv"].append(
        {
            "id": stable_id("service_at_location", sid, location_id),
            "service_id": sid,
            "location_id": location_id,
        }
    )


def _add_service_areas(
    tables: dict[str, list[dict]], row: dict, sid: str, commune_names: dict[int, str]
) -> None:
    if row["tout_le_canton"]:
        tables["service_areas.csv"].append(
            {
                "id": stable_id("service_area", sid, "GE"),
                "service_id": sid,
                "name": "Canton de Genève",
                "description": "Tout le canton de Genève (45 communes).",
                "extent_type": "text",
            }
        )
        return
    served = list(row["communes_desservies"] or [])
    if not served and row["ofs_number"] is not None:
        served = [row["ofs_number"]]
    for ofs in sorted(set(served)):
        tables["service_areas.csv"].append(
            {
                "id": stable_id("service_area", sid, ofs),
                "service_id": sid,
                "name": commune_names.get(ofs, str(ofs)),
                "description": f"Commune de {commune_names.get(ofs, ofs)} (n° OFS {ofs}).",
                "extent_type": "text",
            }
        )


# --- the package ------------------------------------------------------------------------------------


def datapackage(tables: dict[str, pl.DataFrame], created: dt.datetime) -> dict:
    """The Frictionless descriptor of the HSDS files (tabular-data-package)."""
    resources = []
    for name, frame in tables.items():
        fields = []
        for field, kind, fmt in HSDS_FIELDS[name]:
            spec: dict[str, object] = {"name": field, "type": kind}
            if fmt:
                spec["format"] = fmt
            if field == "id":
                spec["constraints"] = {"required": True, "unique": True}
            fields.append(spec)
        schema: dict[str, object] = {"fields": fields, "primaryKey": ["id"]}
        if name in FOREIGN_KEYS:
            schema["foreignKeys"] = [
                {
                    "fields": field,
                    "reference": {"resource": target.removesuffix(".csv"), "fields": "id"},
                }
                for field, target in FOREIGN_KEYS[name]
            ]
        resources.append(
            {
                "name": name.removesuffix(".csv"),
                "path": name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "count": frame.height,
                "schema": schema,
            }
        )
    return {
        "name": "capas-observatoire-social-repertoire",
        "title": "Répertoire des services des membres de la CAPAS (Genève) — HSDS 3.0",
        "description": "Qui fait quoi : les services déclarés par les membres de la CAPAS dans leur "
        "dernière soumission, au format Open Referral HSDS 3.0 (tabulaire). "
        "Correspondance des champs : "
        + "; ".join(f"{field} ← {source}" for field, source in FIELD_SOURCES.items()),
        "profile": "tabular-data-package",
        "version": HSDS_VERSION,
        "created": created.isoformat(timespec="seconds"),
        "keywords": ["Open Referral", "HSDS", "Genève", "action sociale"],
        "resources": resources,
    }


def build_zip(
    directory: pl.DataFrame,
    members: pl.DataFrame,
    themes: pl.DataFrame,
    communes: pl.DataFrame,
    created: dt.datetime | None = None,
) -> bytes:
    """The HSDS package as a zip: one CSV per table plus datapackage.json."""
    tables = build_tables(directory, members, themes, communes)
    created = created or dt.datetime.now().replace(microsecond=0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in tables.items():
            # The export module's CSV (members' formulas neutralised), without the BOM that
            # spreadsheets want but HSDS importers would read as part of the first column's name.
            archive.writestr(name, to_csv(frame, bom=False))
        descriptor = json.dumps(datapackage(tables, created), ensure_ascii=False, indent=2)
        archive.writestr("datapackage.json", descriptor)
    return buffer.getvalue()
