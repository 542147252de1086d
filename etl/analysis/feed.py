"""The Atom feed of signals (RFC 4287): a static file written at every publish, served by nginx, so
that an official can subscribe to « what changed » (deploy/README.md § 6).

One entry per signal of the latest quarters, whose every series is assessed (etl.analysis.signals: each
commune all themes together, each theme in the canton), newest quarter first, each with the published count, what its history predicted and the field observations
of the same theme, place and quarter: the numbers come from the pages' own query (signals_list).
Links are relative to the feed's address (served at the site's root, /signaux.atom), so the file
needs no configuration of the public host name; identifiers are `tag:` URIs (RFC 4151).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import polars as pl

from etl import release
from etl.analysis.public_sql import tables_runner
from etl.analysis.signals import ALL_SERIES, SIGNAL
from etl.exports import dataset
from etl.vocabulary import ALL, CANTON

ATOM = "http://www.w3.org/2005/Atom"
FEED_SUFFIX = "_signaux.atom"
FEED_URL_PATH = "signaux.atom"  # where deploy/nginx serves it, at the site's root
SIGNALS_PAGE = "signaux"  # the dashboard page listing signals (dashboard/app.py)
TAG = "tag:capas-ge.ch,2026:observatoire"
ALL_THEMES = "Tous les thèmes"  # the feed is in French (dashboard/locales/fr: common.all_themes)
LOCAL_TIME = ZoneInfo("Europe/Zurich")
FEED_MODE = 0o644  # read by the web server, unlike the database files (0600)


def feed_file_name(db_path: Path) -> str:
    """observatoire.duckdb -> observatoire_signaux.atom (a file of each release)."""
    return f"{Path(db_path).stem}{FEED_SUFFIX}"


def feed_path(db_path: Path) -> Path:
    """The feed of the current release through the release pointer, a path that stays right after
    every publish (what nginx serves): data/observatoire.releases/current/observatoire_signaux.atom.
    A database still kept as single files (never published since releases) has none."""
    name = release.database_name(db_path)
    if release.current(name).directory is None:
        return name.with_name(feed_file_name(name))
    return release.store_of(name) / release.POINTER / feed_file_name(name)


def quarter_code(year: int, quarter: int) -> str:
    return f"{year}-T{quarter}"


def _number(value: float | None) -> str:
    return f"{round(value):,}".replace(",", "\u202f")


def within_limit(upper_limit: float) -> int:
    """The largest count that raises no signal: a count is a signal when it exceeds the limit."""
    return math.floor(upper_limit)


def _rfc3339(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TIME)
    return moment.isoformat(timespec="seconds")


def _quarter_end(year: int, quarter: int) -> dt.datetime:
    """The first instant after the quarter: an entry's date that does not move at each publish."""
    month = 3 * quarter + 1
    return dt.datetime(year + (month > 12), (month - 1) % 12 + 1, 1, tzinfo=LOCAL_TIME)


def theme_label(row: dict) -> str:
    """A commune's series is all themes together; a theme's is the canton's."""
    return ALL_THEMES if row["theme"] == ALL else row["label_fr"]


def entry_title(row: dict) -> str:
    if row["lieu"] == CANTON:
        series = f"{row['label_fr']} dans le canton"
    else:
        series = f"{row['commune_name']}, {ALL_THEMES.lower()}"
    return f"{series} : hausse inhabituelle au {quarter_code(row['year'], row['quarter'])}"


def entry_summary(row: dict) -> str:
    text = (
        f"{_number(row['observed'])} personnes servies au {quarter_code(row['year'], row['quarter'])}, "
        f"pour {_number(row['expected'])} attendues d'après les trimestres précédents ; "
        f"au plus {_number(within_limit(row['upper_limit']))} serait resté dans la norme."
    )
    field = []
    if row["n_field_alerts"]:
        field.append(f"{row['n_field_alerts']} alerte(s)")
    if row["n_field_vigilance"]:
        field.append(f"{row['n_field_vigilance']} vigilance(s)")
    if field:
        return f"{text} Observations du terrain du même trimestre : {', '.join(field)}."
    return f"{text} Aucune observation publique du terrain ce trimestre."


def entry_link(row: dict) -> str:
    params = {"trimestre": quarter_code(row["year"], row["quarter"]), "theme": row["theme"]}
    params["lieu"] = row["lieu"]
    return f"{SIGNALS_PAGE}?{urlencode(params)}"


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = text
    return element


def _entry(feed: ET.Element, row: dict) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    code = quarter_code(row["year"], row["quarter"])
    _text(entry, "id", f"{TAG}/signal/{code}/{row['theme']}/{row['lieu']}")
    _text(entry, "title", entry_title(row))
    _text(entry, "updated", _rfc3339(_quarter_end(row["year"], row["quarter"])))
    ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=entry_link(row))
    ET.SubElement(entry, f"{{{ATOM}}}category", term=row["theme"], label=theme_label(row))
    _text(entry, "summary", entry_summary(row))


def render_feed(signals: pl.DataFrame, *, published_at: dt.datetime, is_demo: bool) -> bytes:
    """The feed document: `signals` are rows of the signals_list query with status 'signal'."""
    ET.register_namespace("", ATOM)
    meta = dataset()
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "fr"})
    title = "Observatoire social de la CAPAS : signaux"
    _text(feed, "title", f"{title} (données de démonstration)" if is_demo else title)
    _text(
        feed,
        "subtitle",
        "Les hausses inhabituelles du nombre de personnes servies, par commune (tous les thèmes "
        "ensemble) et par thématique (dans le canton), à chaque publication : le dernier trimestre "
        "comparé à ce que son historique prédit.",
    )
    _text(feed, "id", f"{TAG}/signaux")
    _text(feed, "updated", _rfc3339(published_at))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", meta["producer"])
    _text(author, "uri", meta["homepage"])
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=FEED_URL_PATH)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=SIGNALS_PAGE)
    _text(feed, "rights", f"{meta['licence_title']} ({meta['licence_url']})")
    recent = (pl.col("status") == SIGNAL) & (pl.col("scope") == ALL_SERIES)
    for row in signals.filter(recent).iter_rows(named=True):
        _entry(feed, row)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def write_signals_feed(tables: dict[str, pl.DataFrame], path: Path) -> Path:
    """Write the feed of the public `tables` being published to `path`, replaced atomically."""
    with tables_runner(tables) as run:
        signals = run("signals_list", period=None, themes=[], lieux=[], statuses=[SIGNAL])
        is_demo = bool(run("database_status")["has_demo"].item())
    release = tables["release"].row(0, named=True)
    document = render_feed(signals, published_at=release["published_at"], is_demo=is_demo)
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=".signaux-", suffix=".atom", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(document)
        os.chmod(temporary, FEED_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
