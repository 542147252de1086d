"""Property-based tests of the submission loader (hypothesis, bounded and deterministic).

Generated files, valid rows with random mutations (wrong types, blanks, huge and negative numbers,
unicode, formulas, random headers and sheet names, random bytes), must give a clean load or a clean
rejection: never an exception other than UserError, never an internal error, never a partial write
(the database has the whole file's rows or none of them).
"""

from __future__ import annotations

import io
import shutil
from collections import Counter
from pathlib import Path

import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reliability_support import table_fingerprints

from etl.db import open_reader
from etl.errors import UserError
from etl.public import public_path
from etl.submission.load import load_files
from etl.submission.lookups import Lookups
from etl.submission.reader import read_file
from etl.submission.results import ALREADY_LOADED, LOADED, REJECTED, REPLACED
from etl.submission.validate import validate_raw

pytest_plugins = ["test_reliability_support"]


def bounded(examples: int) -> settings:
    """Few examples, no deadline (2 shared cores), the same examples at every run (CI)."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


MEMBERS = ["ALIM-01", "HEB-02", "SANTE-03"]
PERIODS = ["2024", "2023", "2022-T3"]
THEMES = ["alimentation", "Santé", "hebergement", "Dettes et budget", "lien_social", "emploi"]
# Places that are all different communes (no alias of another), written as members write them.
PLACES = ["Onex", "Carouge (GE)", "Chene-Bougeries", "6621", "hors canton", "Vandoeuvres"]
HEADER = ["theme", "commune", "personnes", "femmes", "hommes", "prestations"]
ODD_VALUES = [
    "",
    " ",
    "=1+1",
    '=HYPERLINK("http://example.com","x")',
    "'; drop table activity; --",
    "<script>alert(1)</script>",
    "1'234",
    "12.0",
    "12,5",
    "-",
    "n.d.",
    "Total",
    "Exemple",
    "😀",
    "\x00",
    "\u202e12",
    "1e300",
    " 12 ",
    "9" * 40,
    "-0",
]
SHEET_NAMES = ["activite", "Activité", "activites", "Feuil1", "données", "ACTIVITE "]


# --- strategies -----------------------------------------------------------------------------------------

odd_value = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
)


def sometimes(strategy, usual, one_in: int):
    """`usual` most of the time; a draw from `strategy` one time in `one_in`."""
    return st.integers(1, one_in).flatmap(lambda n: strategy if n == 1 else st.just(usual))


@st.composite
def activity_rows(draw, one_in: int) -> list[list]:
    """Valid rows (distinct theme × place, breakdowns within persons), then each cell kept or,
    one time in `one_in`, replaced by an odd value."""
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(THEMES), st.sampled_from(PLACES)),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    rows = []
    for theme, place in pairs:
        persons = draw(st.integers(0, 5000))
        women = draw(st.integers(0, persons))
        row = [theme, place, persons, women, persons - women, draw(st.integers(0, 20000))]
        rows.append([draw(sometimes(odd_value, value, one_in)) for value in row])
    return rows


@st.composite
def headers(draw, one_in: int) -> list:
    """The template's header; one time in `one_in`, a column renamed, dropped, doubled or
    misspelt."""
    header = list(HEADER)
    changes = st.sampled_from(["rename", "drop", "double", "near_miss"])
    change = draw(sometimes(changes, "none", one_in))
    column = draw(st.integers(0, len(header) - 1))
    if change == "rename":
        header[column] = draw(st.text(min_size=1, max_size=10))
    elif change == "drop":
        header[column] = None
    elif change == "double":
        header[column] = header[(column + 1) % len(header)]
    elif change == "near_miss":
        header[column] = header[column][:-1]
    return header


@st.composite
def submissions(draw, mutation: int = 1) -> tuple[str, bytes]:
    """A file name and its bytes: a workbook, or a CSV activity sheet, possibly damaged.
    `mutation` divides how often each thing goes wrong (2: half as often)."""
    member = draw(sometimes(st.text(max_size=8), draw(st.sampled_from(MEMBERS)), 8 * mutation))
    period = draw(sometimes(st.text(max_size=8), draw(st.sampled_from(PERIODS)), 8 * mutation))
    header = draw(headers(4 * mutation))
    rows = draw(activity_rows(12 * mutation))
    if draw(st.booleans()):
        sheet = draw(sometimes(st.sampled_from(SHEET_NAMES), "activite", 4))
        data = workbook_bytes(member, period, sheet, header, rows, draw(st.booleans()))
        name = "fichier.xlsx"
    else:
        separator = draw(st.sampled_from([",", ";", "\t"]))
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
        data = csv_bytes(member, period, header, rows, separator, encoding)
        name = "fichier.csv"
    if draw(st.integers(1, 10 * mutation)) == 1:  # a damaged transfer: a few bytes changed
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        data = data[:position] + draw(st.binary(min_size=1, max_size=8)) + data[position + 8 :]
    return name, data


def workbook_bytes(member, period, sheet, header, rows, as_formulas: bool) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "nan_inf_to_errors": True, "strings_to_formulas": False}
    )
    identification = book.add_worksheet("identification")
    _write_row(identification, 0, ["membre", member])
    _write_row(identification, 1, ["periode", period])
    activity = book.add_worksheet(_valid_sheet_name(sheet))
    _write_row(activity, 0, header)
    for index, row in enumerate(rows, start=1):
        _write_row(activity, index, row)
        if as_formulas and isinstance(row[2], int) and isinstance(row[3], int):
            # « personnes » as a formula whose stored result is the value: read as the value
            activity.write_formula(index, 2, f"={row[2]}+0", None, row[2])
    book.close()
    return buffer.getvalue()


def _valid_sheet_name(name: str) -> str:
    cleaned = "".join(c for c in name if c not in "[]:*?/\\'").strip()[:31]
    return cleaned or "activite"


def _write_row(sheet, row: int, values: list) -> None:
    for column, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, str):
            sheet.write_string(row, column, value.replace("\x00", ""))  # XML cannot hold NUL
        else:
            sheet.write_number(row, column, value)


def csv_bytes(member, period, header, rows, separator: str, encoding: str) -> bytes:
    lines = [[f"{'membre'}", "periode", *("" if h is None else h for h in header)]]
    lines += [[member, period, *("" if v is None else str(v) for v in row)] for row in rows]
    text = "\r\n".join(
        separator.join(cell.replace(separator, " ") for cell in line) for line in lines
    )
    return text.encode(encoding, errors="replace")


# --- properties -----------------------------------------------------------------------------------------


def lookups_of(db_path: Path) -> Lookups:
    con = open_reader(db_path)
    try:
        return Lookups.from_db(con)
    finally:
        con.close()


def test_random_bytes_are_refused_cleanly(published_base):
    """Any bytes under any usual name: the reader and the rules answer with issues, never raise."""
    lookups = lookups_of(published_base)
    outcomes: Counter = Counter()

    @bounded(80)
    @given(
        name=st.sampled_from(["f.xlsx", "f.csv", "f.txt", "f.xlsm", "f", "f.xls"]),
        data=st.one_of(
            st.binary(max_size=4096),
            st.binary(max_size=64).map(lambda tail: b"PK\x03\x04" + tail),
            st.text(max_size=400).map(lambda text: text.encode("utf-8")),
        ),
    )
    def check(name, data):
        validated = validate_raw(read_file(Path(name), data), lookups)
        outcomes["refusé" if validated.has_errors else "valide"] += 1
        assert all(issue.message for issue in validated.issue_list())

    check()
    print(f"\nFIGURE | fuzz, octets aléatoires : {dict(outcomes)}")
    assert outcomes["refusé"] > 0


def test_mutated_files_are_validated_without_exception(published_base):
    """Many mutated submissions, read and checked against the rules (nothing written)."""
    lookups = lookups_of(published_base)
    outcomes: Counter = Counter()

    @bounded(120)
    @given(submissions())
    def check(submission):
        name, data = submission
        validated = validate_raw(read_file(Path(name), data), lookups)
        issues = validated.issue_list()
        if validated.has_errors:
            outcomes["refusé"] += 1
            assert any(issue.severity == "erreur" and issue.message for issue in issues)
        else:
            outcomes["valide"] += 1
            # What the database would receive: one row per accepted row, counts ≥ 0.
            assert validated.activity.height == validated.rows_accepted
            counts = validated.activity.select("personnes", "femmes", "hommes", "prestations")
            assert all((value or 0) >= 0 for value in counts.min().row(0))

    check()
    print(f"\nFIGURE | fuzz, fichiers mutés validés : {dict(outcomes)}")
    assert outcomes["refusé"] > 0 and outcomes["valide"] > 0


def test_mutated_files_load_whole_or_not_at_all(published_base, tmp_path_factory):
    """Loaded for real, each into a fresh copy: either every row of the file is in the database
    (and nothing else changed), or the data tables are exactly as before."""
    outcomes: Counter = Counter()
    directory = tmp_path_factory.mktemp("fuzz_loads")

    @bounded(12)
    @given(submissions(mutation=3))
    def check(submission):
        name, data = submission
        db_path = _fresh_copy(published_base, directory)
        path = directory / name
        path.write_bytes(data)
        before, slices_before = table_fingerprints(db_path), slice_tables(db_path)
        try:
            [result] = load_files([path], db_path, user="fuzz")
        except UserError:
            outcomes["refus (UserError)"] += 1
            assert table_fingerprints(db_path) == before
            return
        assert result.status in (LOADED, REPLACED, REJECTED, ALREADY_LOADED), result.issues
        if result.status == REJECTED:
            outcomes["refusé"] += 1
            assert table_fingerprints(db_path) == before
            return
        outcomes["chargé"] += 1
        _assert_whole_file_loaded(db_path, slices_before, result)

    check()
    print(f"\nFIGURE | fuzz, fichiers mutés chargés : {dict(outcomes)}")
    assert outcomes["chargé"] > 0 and outcomes["refusé"] > 0


def _fresh_copy(source: Path, directory: Path) -> Path:
    target = directory / "obs.duckdb"
    shutil.copyfile(source, target)
    shutil.copyfile(public_path(source), public_path(target))
    return target


def _assert_whole_file_loaded(db_path: Path, before: dict, result) -> None:
    """The file's slices hold exactly its rows; every other slice is untouched."""
    slices = set(result.slices)
    after = slice_tables(db_path)
    in_file = [
        row for row in after["activity"] if (row["member_code"], row["period_code"]) in slices
    ]
    assert len(in_file) == result.counts["activite"] == result.rows_accepted
    for name, rows in after.items():
        outside = [r for r in rows if (r["member_code"], r["period_code"]) not in slices]
        kept = [r for r in before[name] if (r["member_code"], r["period_code"]) not in slices]
        assert outside == kept, name


def slice_tables(db_path: Path) -> dict[str, list[dict]]:
    """The three tables a file writes, as rows with their column names, in a stable order."""
    con = open_reader(db_path)
    try:
        return {
            name: con.sql(f"select * from {name} order by all").pl().to_dicts()
            for name in ("activity", "services", "observations")
        }
    finally:
        con.close()


def test_the_unmutated_generator_output_is_valid(published_base):
    """So the rejections above come from the mutations, not from the generator."""
    lookups = lookups_of(published_base)
    rows = [["alimentation", "Onex", 5, 2, 3, 9], ["Santé", "6621", 12, 6, 6, 40]]
    workbook = workbook_bytes("ALIM-01", "2024", "activite", HEADER, rows, as_formulas=True)
    text = csv_bytes("HEB-02", "2022-T3", HEADER, rows, ";", "utf-16")
    for name, data in (("f.xlsx", workbook), ("f.csv", text)):
        validated = validate_raw(read_file(Path(name), data), lookups)
        assert not validated.has_errors, validated.issue_list()
        assert validated.activity["personnes"].to_list() == [5, 12]
