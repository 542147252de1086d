"""The Atom feed of signals (RFC 4287), written beside the public file at every publish."""

from __future__ import annotations

import datetime as dt
import stat
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest

from etl.analysis import feed, signals
from etl.exports import public_runner

A = "{http://www.w3.org/2005/Atom}"


def one(parent: ET.Element, tag: str) -> ET.Element:
    """RFC 4287 § 4.1.1–4.1.2: these elements appear exactly once."""
    found = parent.findall(f"{A}{tag}")
    assert len(found) == 1, (tag, len(found))
    return found[0]


def rfc3339(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text  # a date-time with its offset (§ 3.3)
    return moment


def check_atom(document: bytes) -> ET.Element:
    """The requirements of RFC 4287 for a feed and its entries."""
    root = ET.fromstring(document)
    assert root.tag == f"{A}feed"
    for tag in ("id", "title", "updated"):
        one(root, tag)
    assert urlsplit(one(root, "id").text).scheme  # an absolute IRI
    rfc3339(one(root, "updated").text)
    # atom:author: on the feed, since entries carry none (§ 4.1.1), with its name.
    one(one(root, "author"), "name")
    ids = []
    for entry in root.findall(f"{A}entry"):
        for tag in ("id", "title", "updated"):
            one(entry, tag)
        ids.append(one(entry, "id").text)
        assert urlsplit(ids[-1]).scheme
        rfc3339(one(entry, "updated").text)
        # No atom:content: then an alternate link and a summary (§ 4.1.2).
        assert entry.find(f"{A}content") is None
        assert [link.get("rel") for link in entry.findall(f"{A}link")] == ["alternate"]
        assert one(entry, "summary").text
    assert len(ids) == len(set(ids))
    return root


def test_the_demo_feed_is_valid_atom_and_lists_the_published_signals(demo_db):
    path = feed.feed_path(demo_db)
    # A file of the current release, reached through its pointer (what nginx serves).
    assert path == demo_db.with_name(f"{demo_db.stem}.releases") / "current" / (
        f"{demo_db.stem}_signaux.atom"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the web server reads it
    root = check_atom(path.read_bytes())
    with public_runner(demo_db) as run:
        raised = run("signals_list", period=None, themes=[], lieux=[], statuses=["signal"])
    raised = raised.filter(pl.col("scope") == signals.ALL_SERIES)
    entries = root.findall(f"{A}entry")
    assert len(entries) == raised.height
    assert "démonstration" in one(root, "title").text
    # The test demo's rises are too diluted in the published series (a commune's total, a theme in
    # the canton) to be raised: the entries are checked on a hand-built feed below.
    if raised.is_empty():
        return
    first, row = entries[0], raised.row(0, named=True)
    assert one(first, "id").text.endswith(
        f"/{row['year']}-T{row['quarter']}/{row['theme']}/{row['lieu']}"
    )
    summary = one(first, "summary").text
    assert f"{row['observed']:,}".replace(",", "\u202f") in summary
    link = urlsplit(one(first, "link").get("href"))
    assert link.path == "signaux"
    assert parse_qs(link.query) == {
        "trimestre": [f"{row['year']}-T{row['quarter']}"],
        "theme": [row["theme"]],
        "lieu": [row["lieu"]],
    }


def signal_row(**changes) -> dict:
    row = {
        "year": 2025,
        "quarter": 4,
        "theme": "alimentation",
        "label_fr": "Aide alimentaire",
        "lieu": "6608",
        "commune_name": 'Carouge <&> "test"',
        "scope": signals.ALL_SERIES,
        "status": signals.SIGNAL,
        "observed": 1234,
        "expected": 800.4,
        "upper_limit": 1010.7,
        "n_field_alerts": 2,
        "n_field_vigilance": 0,
    }
    return {**row, **changes}


def test_a_hand_built_feed_escapes_text_and_states_its_numbers():
    # A commune's series is all themes together; a theme's series is the canton's.
    commune = signal_row(theme="*", label_fr=None)
    rows = pl.DataFrame([commune, signal_row(lieu="GE", commune_name=None, quarter=3)])
    published = dt.datetime(2026, 1, 15, 9, 30)
    root = check_atom(feed.render_feed(rows, published_at=published, is_demo=False))
    assert one(root, "updated").text == "2026-01-15T09:30:00+01:00"  # Geneva in winter
    first, second = root.findall(f"{A}entry")
    assert one(first, "title").text == (
        'Carouge <&> "test", tous les thèmes : hausse inhabituelle au 2025-T4'
    )
    assert one(first, "category").attrib == {"term": "*", "label": "Tous les thèmes"}
    assert one(first, "id").text.endswith("/signal/2025-T4/*/6608")
    # The published count, the rounded expectation, the largest count still within the limit.
    assert one(first, "summary").text.startswith(
        "1\u202f234 personnes servies au 2025-T4, pour 800 attendues"
    )
    assert "au plus 1\u202f010" in one(first, "summary").text
    assert "2 alerte(s)" in one(first, "summary").text
    assert one(first, "updated").text == "2026-01-01T00:00:00+01:00"  # the quarter's end
    assert one(second, "title").text == (
        "Aide alimentaire dans le canton : hausse inhabituelle au 2025-T3"
    )
    assert "démonstration" not in one(root, "title").text


@pytest.mark.parametrize(
    "changes",
    [{"status": signals.EXPECTED}, {"status": signals.WITHHELD}, {"scope": signals.FIELD_ONLY}],
)
def test_only_signals_of_the_latest_quarters_make_entries(changes):
    # An earlier quarter assessed for a field observation is on the pages, not in « what changed ».
    rows = pl.DataFrame([signal_row(**changes)])
    root = check_atom(feed.render_feed(rows, published_at=dt.datetime(2026, 1, 1), is_demo=True))
    assert root.findall(f"{A}entry") == []
