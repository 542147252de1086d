"""A CSV whose counts are plain numbers is read with typed counts (fast); the result is the same as
reading every cell as text, and anything else is read as text (etl/submission/reader.py)."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal
from test_submission_support import validated

from etl.submission import reader

pytest_plugins = ["test_submission_support"]

HEADER = "membre;periode;theme;commune;personnes;prestations;femmes;hommes;liste_attente\n"
PLAIN = [
    "ALIM-01;2024;alimentation;Onex;12;30;6;5;\n",
    "ALIM-01;2024;logement;6608; 7;+3;007;;2\n",
    ";;;;;;;;\n",  # blank
    " ; ; ; ; ; ; ; ; \n",  # blank, spaces only
    "Total;;;;19;33;;;\n",
    "ALIM-01;2024;alimentation;hors canton;4;;  ;1;\n",  # spaces only in an optional count
    "ALIM-01;2024;alimentation;Onex;3;;9;;\n",  # duplicate, and more women than persons
]
TEXT = {
    "thousands": "ALIM-01;2024;alimentation;Carouge;1'234;;;;\n",
    "negative": "ALIM-01;2024;alimentation;Carouge;-2;;;;\n",
    "decimal": "ALIM-01;2024;alimentation;Carouge;2.5;;;;\n",
    "persons spaces only": "ALIM-01;2024;alimentation;Carouge;  ;;;;\n",
    "persons empty": "ALIM-01;2024;alimentation;Carouge;;4;;;\n",
    "too large": "ALIM-01;2024;alimentation;Carouge;2147483648;;;;\n",
    "marker": "ALIM-01;2024;alimentation;Carouge;n.d.;;;;\n",
}


def both_ways(path, base_db, monkeypatch) -> tuple[bool, object, object]:
    """(typed counts used, result as read now, result read as text)."""
    used = []
    typed = reader._read_csv_with_plain_counts

    def spy(raw, data):
        used.append(typed(raw, data))
        return used[-1]

    monkeypatch.setattr(reader, "_read_csv_with_plain_counts", spy)
    fast = validated(path, base_db)
    monkeypatch.setattr(reader, "_read_csv_with_plain_counts", lambda raw, data: False)
    text = validated(path, base_db)
    return bool(used and used[0]), fast, text


def assert_same(fast, text) -> None:
    assert_frame_equal(fast.issues, text.issues)
    assert_frame_equal(fast.activity, text.activity)
    assert_frame_equal(fast.slices, text.slices)
    assert (fast.rows_total, fast.rows_rejected, fast.rows_skipped) == (
        text.rows_total,
        text.rows_rejected,
        text.rows_skipped,
    )


def test_plain_counts_are_typed_by_the_parser_with_the_same_result(base_db, tmp_path, monkeypatch):
    path = tmp_path / "plain.csv"
    path.write_text(HEADER + "".join(PLAIN), encoding="utf-8")
    used, fast, text = both_ways(path, base_db, monkeypatch)
    assert used
    assert_same(fast, text)
    assert fast.rows_skipped == 3
    # Line 8 only: more women than persons, and the same theme and commune as line 2.
    assert fast.issues.select("row", "column").rows() == [(8, "femmes"), (8, "commune")]


@pytest.mark.parametrize("case", sorted(TEXT))
def test_other_counts_are_read_as_text(base_db, tmp_path, monkeypatch, case):
    path = tmp_path / "text.csv"
    path.write_text(HEADER + "".join(PLAIN[:2]) + TEXT[case], encoding="utf-8")
    used, fast, text = both_ways(path, base_db, monkeypatch)
    assert not used
    assert_same(fast, text)
