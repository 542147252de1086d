"""The vocabulary (etl/vocabulary.py) is the one definition of the observatory's codes: the schema's
CHECK constraints and the derived SQL spell the same words, and no product module defines them again.
"""

from __future__ import annotations

import re

import pytest

from etl import vocabulary
from etl.paths import ROOT, SCHEMA_DIR

PRODUCT_CODE = sorted([*(ROOT / "dashboard").rglob("*.py"), *(ROOT / "etl").rglob("*.py")])


def check_values(sql_file: str, column: str) -> set[str]:
    """The values a schema file's CHECK (column in (...)) allows."""
    text = (SCHEMA_DIR / sql_file).read_text(encoding="utf-8")
    match = re.search(rf"check \({column} in \(([^)]*)\)\)", text)
    assert match, f"{sql_file}: no CHECK on {column}"
    return set(re.findall(r"'([^']*)'", match.group(1)))


def test_statuses_and_period_kinds_are_the_schema_s():
    assert check_values("003_load_runs.sql", "status") == set(vocabulary.RUN_STATUSES)
    assert check_values("001_reference.sql", "status") == set(vocabulary.POPULATION_STATUSES)
    assert check_values("001_reference.sql", "granularity") == set(vocabulary.PERIOD_KINDS)
    assert set(vocabulary.CUBE_PERIOD_KINDS) < set(vocabulary.PERIOD_KINDS)
    assert set(vocabulary.ESTIMATED_POPULATION) == set(vocabulary.POPULATION_STATUSES) - {
        vocabulary.PUBLISHED
    }


def test_the_cubes_hold_every_measure_and_place_code():
    sql = (SCHEMA_DIR / "derived" / "050_aggregates.sql").read_text(encoding="utf-8")
    for measure in vocabulary.CUBE_MEASURES:
        assert re.search(rf"\b{measure}\b", sql), f"050_aggregates.sql does not compute {measure}"
    for code in (vocabulary.ALL, vocabulary.CANTON):  # hors_canton etc. come from the rows
        assert f"'{code}'" in sql, f"050_aggregates.sql does not write the code {code!r}"


# A module-level name bound to one of the vocabulary's literals (or a tuple of them), e.g.
# `CANTON = "GE"` or `STATUSES = ("publie", "interpole", ...)`.
WORDS = sorted(
    {
        vocabulary.ALL,
        vocabulary.CANTON,
        *vocabulary.PLACES_OUTSIDE_COMMUNES,
        *vocabulary.POPULATION_STATUSES,
        *vocabulary.RUN_STATUSES,
    }
)
WORD = "(?:" + "|".join(re.escape(word) for word in WORDS) + ")"
DEFINITION = re.compile(
    rf"^([A-Z_][A-Z0-9_, ]*?)[ \t]*=[ \t]*"
    rf"(?:\((?:\s*\"{WORD}\"\s*,?)+\s*\)|\"{WORD}\"(?:[ \t]*,[ \t]*\"{WORD}\")*)[ \t]*(#.*)?$",
    re.MULTILINE,
)

# Names bound to the same characters with another meaning.
OTHER_MEANINGS = {"ESTIMATED_MARK"}  # needs_text.py: the footnote mark of an estimated population


@pytest.mark.parametrize(
    "path",
    [p for p in PRODUCT_CODE if p.name != "vocabulary.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_defines_the_vocabulary_again(path):
    found = [
        match.group(0)
        for match in DEFINITION.finditer(path.read_text(encoding="utf-8"))
        if match.group(1) not in OTHER_MEANINGS
    ]
    assert not found, f"{path.relative_to(ROOT)}: import it from etl.vocabulary instead"


def test_the_check_sees_a_definition():
    """The pattern above catches the definitions this module replaced (so the test can fail)."""
    for line in (
        'ALL, CANTON = "*", "GE"',
        'CANTON = "GE"',
        'RUN_STATUS = "retire"',
        'LOADED, REPLACED = (\n    "charge",\n    "remplace",\n)',
    ):
        assert DEFINITION.search(line), line
    assert not DEFINITION.search('NEW_BY_FREQUENCY = {"mois": 0.45}')
