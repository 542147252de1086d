"""Disclosure control and the public database file (DESIGN §6).

Everything that leaves the system (public pages, charts, tooltips, downloads, exports) reads one file,
`<base>_public.duckdb`, of the same release as the raw database (etl/release.py). It is rebuilt at
every publish, into the release being built, from the raw file's `public` schema (etl/schema/derived/090_public.sql and
friends): each view is materialised as a table of schema `public`, and the activity cubes go through
disclosure control on the way:

- primary suppression: a count from 1 to 4 is published as NULL with `<column>_supprime = true`;
- complementary suppression: wherever a total is the sum of cells (themes → all themes, communes →
  canton, places → everywhere, categories → all members, quarters → year, women + men → persons), a
  group holding exactly one suppressed cell gets a second one, the next-smallest positive cell, so the
  first cannot be recovered by subtraction; repeated until no group has a single suppressed cell;
- rates and ratios are computed downstream from the published counts only, so a suppressed count
  (NULL) can only give a NULL rate.

The public file holds no raw table at all, and the dashboard's public connection attaches only that
file with file access disabled (`open_public_reader`): a public page cannot read raw data, even by
mistake.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from etl import release
from etl.analysis.gaps import gap_analysis_tables
from etl.analysis.signals import signal_tables
from etl.db import SCHEMA_VERSION, MissingDatabase
from etl.errors import UserError
from etl.vocabulary import CUBE_MEASURES  # noqa: F401 (the counts of the cubes; imported from here)

SMALLEST_PUBLISHED_COUNT = 5
SUPPRESSED_SUFFIX = "_supprime"
PUBLIC_SCHEMA = "public"

YEAR_CUBE = "activity_year_cube"
QUARTER_CUBE = "activity_quarter_cube"
CUBE_KEYS = ("year", "quarter", "theme", "lieu", "category")
WHOLE_YEAR = 0  # the quarter of a year-cube cell when both cubes are protected together

# Integer columns of public tables that are not counts of persons or acts, reviewed one by one:
# codes, years, reference statistics and counts of organisations, places or services (the directory
# of members and services is public). tests/test_disclosure.py fails on any other integer column
# that is not suppressed, so a new public count cannot slip through unreviewed.
REVIEWED_INTEGER_COLUMNS = frozenset(
    {
        "ofs_number",
        "year",
        "quarter",
        "month",
        "sort_order",
        "population",
        "n_communes",
        "n_estimated",
        "n_members",
        "n_members_partial",
        "n_periods",
        "n_periods_expected",
        "activity_rows",
        "first_year",
        "last_year",
        "latest_complete_year",
        "services_located",
        "services_serving",
        "members_serving",
        "service_no",
        "capacite",
        "communes_desservies",
        "smallest_published_count",
        # Gap analysis (etl/analysis/gaps.py): years, ranks, OFS numbers, counts of indicators and
        # of services (the directory is public).
        "value_year",
        "indicators_used",
        "indicators_missing",
        "neighbour_rank",
        "neighbour_ofs",
        "services_local",
        "services_canton_wide",
        "direction",  # of the needs mapping: +1 or -1
    }
)


# --- disclosure control: pure functions on Polars frames ----------------------------------------------


@dataclass(frozen=True)
class Margin:
    """An additive relation of a table: within each group, the `total` cell of `column` is the sum
    of the cells of `column` selected by `members` (all other key columns being equal)."""

    name: str
    column: str
    members: pl.Expr
    total: str | int


def _is_commune(lieu: pl.Expr) -> pl.Expr:
    return lieu.str.contains(r"^\d+$")


CUBE_MARGINS = (
    Margin("thèmes → tous les thèmes", "theme", pl.col("theme") != "*", "*"),
    Margin("communes → canton", "lieu", _is_commune(pl.col("lieu")), "GE"),
    Margin(
        "canton, hors canton, non renseignée → partout",
        "lieu",
        pl.col("lieu").is_in(["GE", "hors_canton", "non_renseignee"]),
        "*",
    ),
    Margin("lieux → partout", "lieu", ~pl.col("lieu").is_in(["*", "GE"]), "*"),
    # A member with several categories counts in each: the sum may exceed the total, but where every
    # member has one category it is exact, so the relation is protected like the others.
    Margin("catégories → tous les membres", "category", pl.col("category") != "*", "*"),
    # Only exact when every member of the cell reports quarterly; protected in every case.
    Margin("trimestres → année", "quarter", pl.col("quarter") != WHOLE_YEAR, WHOLE_YEAR),
    # Women and men of a cell add up to its persons when the sex of everyone is known.
    Margin(
        "femmes + hommes → personnes",
        "measure",
        pl.col("measure").is_in(["femmes", "hommes"]),
        "personnes",
    ),
)


def is_primary_suppressed(value: pl.Expr) -> pl.Expr:
    """A count from 1 to SMALLEST_PUBLISHED_COUNT - 1 (zero and missing values are published)."""
    return value.is_between(1, SMALLEST_PUBLISHED_COUNT - 1).fill_null(False)


@dataclass(frozen=True)
class _MarginIndex:
    """One margin's groups as integer arrays, computed once so that each round is a few numpy ops.

    `cells` are the row numbers of the cells in the margin, sorted by group then by preference as a
    second cell (members before the total, smallest value first, then by label); `groups` their
    group numbers (0…n_groups-1, ascending).
    """

    cells: np.ndarray
    groups: np.ndarray
    n_groups: int
    has_total: np.ndarray  # per group


def _key_codes(cells: pl.DataFrame, keys: list[str]) -> dict[str, np.ndarray]:
    """Each key column as dense integer codes 0…n-1 in the order of its values (labels sort)."""
    codes = {}
    for key in keys:
        column = cells[key]
        if column.dtype == pl.String and column.null_count() == 0:
            # A few distinct labels: an Enum of the sorted labels numbers every row in that order
            # without sorting a million strings (what ranking them costs).
            labels = column.unique().sort().to_list()
            codes[key] = column.cast(pl.Enum(labels)).to_physical().cast(pl.Int64).to_numpy()
        else:
            codes[key] = (column.rank("dense").cast(pl.Int64) - 1).to_numpy()
    return codes


def _preference_order(
    group_key: np.ndarray,
    is_total: np.ndarray,
    value_rank: np.ndarray,
    n_values: int,
    code: np.ndarray,
) -> np.ndarray:
    """The order of `np.lexsort((code, value_rank, is_total, group_key))`, computed as one sort of
    a single integer key when it fits in 63 bits (one pass instead of four)."""
    n_groups = int(group_key.max()) + 1 if group_key.size else 1
    n_codes = int(code.max()) + 1 if code.size else 1
    n_values = max(n_values, 1)
    if n_groups * 2 * n_values * n_codes >= 2**62:
        return np.lexsort((code, value_rank, is_total, group_key))
    composite = ((group_key * 2 + is_total) * n_values + value_rank) * n_codes + code
    return np.argsort(composite, kind="stable")


def _index_margin(
    cells: pl.DataFrame,
    codes: dict[str, np.ndarray],
    value_rank: np.ndarray,
    n_values: int,
    positive: np.ndarray,
    margin: Margin,
) -> _MarginIndex:
    in_margin = cells.select(margin.members | (pl.col(margin.column) == margin.total))
    is_total = cells.select(pl.col(margin.column) == margin.total).to_series().to_numpy()
    # A zero or missing member can neither be suppressed nor chosen as a second cell: leaving it out
    # changes no group's outcome (the total stays in, whatever its value) and halves the work.
    keep = in_margin.to_series().fill_null(False).to_numpy() & (is_total | positive)
    rows = np.flatnonzero(keep)
    # Cells of one group share every key but the margin's column: one integer, mixed radix.
    group_key = np.zeros(rows.size, dtype=np.int64)
    for key, code in codes.items():
        if key != margin.column:
            group_key = group_key * (int(code.max()) + 1) + code[rows]
    order = _preference_order(
        group_key,
        is_total[rows].astype(np.int64),
        value_rank[rows],
        n_values,
        codes[margin.column][rows],
    )
    rows, group_key = rows[order], group_key[order]
    groups = np.cumsum(np.diff(group_key, prepend=group_key[:1]) != 0) if rows.size else rows
    n_groups = int(groups[-1]) + 1 if rows.size else 0
    has_total = np.zeros(n_groups, dtype=bool)
    has_total[groups[is_total[rows]]] = True
    return _MarginIndex(rows, groups, n_groups, has_total)


def _second_cells(index: _MarginIndex, suppressed: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Row numbers of the cells to suppress so that no group of the margin keeps a single one.

    In each group (the members and the total) holding exactly one suppressed cell, the first
    candidate in preference order: the smallest positive published member, else the total.
    """
    hidden = suppressed[index.cells]
    n_hidden = np.bincount(index.groups, weights=hidden, minlength=index.n_groups)
    exposed = (n_hidden == 1) & index.has_total
    candidate = np.flatnonzero(exposed[index.groups] & ~hidden & positive[index.cells])
    groups = index.groups[candidate]
    first = np.flatnonzero(np.diff(groups, prepend=-1) != 0)  # sorted: first of each group
    return index.cells[candidate[first]]


def suppress_cells(
    cells: pl.DataFrame, keys: Iterable[str], margins: Iterable[Margin], max_rounds: int = 1000
) -> pl.DataFrame:
    """Add a boolean `suppressed` to a long frame of cells (`keys`…, `value`).

    Primary suppression first, then complementary rounds over every margin until no group of any
    margin has exactly one suppressed cell (each round only adds cells, so it ends).
    """
    keys = list(keys)
    if cells.is_empty():
        return cells.with_columns(suppressed=pl.lit(False))
    codes = _key_codes(cells, keys)
    # Missing values sort after every count, so they come last as candidates (and never qualify).
    value = cells["value"].fill_null(np.iinfo(np.int64).max).to_numpy()
    distinct, value_rank = np.unique(value, return_inverse=True)
    positive = (cells["value"].fill_null(0) > 0).to_numpy()
    indexes = [
        _index_margin(cells, codes, value_rank.astype(np.int64), distinct.size, positive, margin)
        for margin in margins
    ]
    suppressed = cells.select(is_primary_suppressed(pl.col("value"))).to_series().to_numpy().copy()
    for _ in range(max_rounds):
        added = 0
        for index in indexes:
            seconds = _second_cells(index, suppressed, positive)
            suppressed[seconds] = True
            added += seconds.size
        if added == 0:
            return cells.with_columns(suppressed=pl.Series(suppressed, dtype=pl.Boolean))
    raise RuntimeError("La suppression complémentaire ne converge pas.")  # pragma: no cover


_ROW = "__ligne_du_tableau"  # row number carried through the long form of a table


def suppressed_flag(column: str) -> str:
    return f"{column}{SUPPRESSED_SUFFIX}"


def suppress_table(
    frame: pl.DataFrame,
    keys: Iterable[str],
    measures: Iterable[str],
    margins: Iterable[Margin],
) -> pl.DataFrame:
    """Apply disclosure control to a wide table: each suppressed measure becomes NULL and gets a
    companion `<measure>_supprime` flag; other columns are kept as they are."""
    keys, measures = list(keys), list(measures)
    long = (
        frame.with_row_index(_ROW)
        .select(_ROW, *keys, *[pl.col(m).cast(pl.Int64) for m in measures])
        .unpivot(on=measures, index=[_ROW, *keys], variable_name="measure", value_name="value")
    )
    cells = suppress_cells(long, [*keys, "measure"], margins)
    # Back to one flag per row and measure by position (no pivot and join on the keys).
    flags = np.zeros((len(measures), frame.height), dtype=bool)
    measure_number = cells["measure"].cast(pl.Enum(measures)).to_physical().to_numpy()
    flags[measure_number, cells[_ROW].to_numpy()] = cells["suppressed"].to_numpy()
    return frame.with_columns(
        pl.Series(suppressed_flag(m), flags[i], dtype=pl.Boolean) for i, m in enumerate(measures)
    ).with_columns(
        *[
            pl.when(pl.col(suppressed_flag(m))).then(None).otherwise(pl.col(m)).alias(m)
            for m in measures
        ]
    )


def suppress_activity_cubes(
    year_cube: pl.DataFrame, quarter_cube: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Protect the two activity cubes together, since a year is the sum of its quarters."""
    columns = [*CUBE_KEYS, *CUBE_MEASURES]
    both = pl.concat(
        [
            year_cube.with_columns(quarter=pl.lit(WHOLE_YEAR, dtype=pl.Int32)).select(columns),
            quarter_cube.with_columns(pl.col("quarter").cast(pl.Int32)).select(columns),
        ]
    )
    protected = suppress_table(both, CUBE_KEYS, CUBE_MEASURES, CUBE_MARGINS)
    year_part = protected.filter(pl.col("quarter") == WHOLE_YEAR).drop("quarter")
    quarter_part = protected.filter(pl.col("quarter") != WHOLE_YEAR).with_columns(
        pl.col("quarter").cast(quarter_cube.schema["quarter"])
    )
    return _restore(year_cube, year_part), _restore(quarter_cube, quarter_part)


def _restore(cube: pl.DataFrame, protected: pl.DataFrame) -> pl.DataFrame:
    """The cube with its measures replaced by the protected ones and their flags appended."""
    keys = [key for key in CUBE_KEYS if key in cube.columns]
    flags = [suppressed_flag(m) for m in CUBE_MEASURES]
    values = protected.select(
        *keys, *[pl.col(m).cast(cube.schema[m]) for m in CUBE_MEASURES], *flags
    )
    return cube.drop(CUBE_MEASURES).join(values, on=keys, how="left").select(*cube.columns, *flags)


# --- the public database file ---------------------------------------------------------------------


def public_path(db_path: Path) -> Path:
    """The public file's name beside the raw one: data/observatoire_public.duckdb (a link to the
    current release's public file; readers that need the raw and public files of one release use
    `etl.release.current(db_path)`)."""
    db_path = Path(db_path)
    return db_path.with_name(release.public_file_name(db_path))


def public_layer_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables and views of the raw database's `public` schema (what may be published)."""
    rows = con.sql(
        """select table_name from information_schema.tables
           where table_catalog = current_database() and table_schema = ?
           order by table_name""",
        params=[PUBLIC_SCHEMA],
    ).fetchall()
    return [name for (name,) in rows]


def read_public_layer(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    return {
        name: con.sql(f'select * from {PUBLIC_SCHEMA}."{name}"').pl()
        for name in public_layer_names(con)
    }


def _fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A short hash of what the data is made of: the loaded files and the reference data."""
    parts = con.sql(
        """select
               (select coalesce(string_agg(member_code || '/' || period_code || '/' || sha256, ','
                    order by member_code, period_code), '') from main.submissions),
               (select coalesce(sum(population), 0) from main.population),
               (select coalesce(sum(value), 0) from main.indicators),
               (select count(*) from main.communes),
               (select coalesce(string_agg(theme || '/' || indicator_code || '/' || weight || '/'
                    || direction, ',' order by theme, indicator_code), '') from main.needs_mapping)"""
    ).fetchall()[0]
    text = "|".join([SCHEMA_VERSION, *map(str, parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def release_row(
    con: duckdb.DuckDBPyConnection, published_at: dt.datetime, release_id: str | None = None
) -> pl.DataFrame:
    """One row describing this publication: version (date + content hash), date, rules applied,
    and the id of the release it belongs to (the raw file has the same in `release_info`)."""
    return pl.DataFrame(
        {
            "version": [f"{published_at:%Y.%m.%d}-{_fingerprint(con)}"],
            "published_at": [published_at.replace(microsecond=0)],
            "schema_version": [SCHEMA_VERSION],
            "smallest_published_count": [SMALLEST_PUBLISHED_COUNT],
            "release_id": [release_id],
        },
        schema_overrides={"release_id": pl.String},
    )


def build_public_tables(
    con: duckdb.DuckDBPyConnection,
    published_at: dt.datetime | None = None,
    release_id: str | None = None,
) -> dict[str, pl.DataFrame]:
    """The tables of the public file, disclosure control applied (pure reads of the raw database)."""
    tables = read_public_layer(con)
    missing = {YEAR_CUBE, QUARTER_CUBE} - tables.keys()
    if missing:
        raise UserError(
            f"La couche publique de la base est incomplète (manque : {', '.join(sorted(missing))}). "
            "Reconstruisez la base avec la version actuelle de l'ETL."
        )
    tables[YEAR_CUBE], tables[QUARTER_CUBE] = suppress_activity_cubes(
        tables[YEAR_CUBE], tables[QUARTER_CUBE]
    )
    tables.update(gap_analysis_tables(tables))  # from the protected cubes only (etl/analysis)
    tables.update(signal_tables(tables))  # from the protected cubes only (DESIGN §5, §6)
    tables["release"] = release_row(con, published_at or dt.datetime.now(), release_id)
    return tables


def write_public_file(tables: dict[str, pl.DataFrame], path: Path) -> None:
    """Write the tables into a brand-new file at `path` (schema `public` only), completed under a
    temporary name then renamed."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partiel")
    temporary.unlink(missing_ok=True)
    out = duckdb.connect(str(temporary))
    try:
        out.execute(f"create schema {PUBLIC_SCHEMA}")
        for name, frame in tables.items():
            out.register("published_frame", frame)
            out.execute(f'create table {PUBLIC_SCHEMA}."{name}" as select * from published_frame')
            out.unregister("published_frame")
        out.execute("checkpoint")
        out.close()
        os.replace(temporary, path)
    finally:
        out.close()
        temporary.unlink(missing_ok=True)
        Path(f"{temporary}.wal").unlink(missing_ok=True)


def publish_public(con: duckdb.DuckDBPyConnection, db_path: Path) -> Path:
    """Build the public file of the release of `db_path` being published, from its raw file (`con`).

    Called after `refresh_derived`, inside the `next_version` block: the public file goes into the
    same release as the raw file and is switched in with it, or not at all.
    """
    # Imported here: the feed runs the pages' queries through etl.exports, which imports this module.
    from etl.analysis.feed import feed_file_name, write_signals_feed

    build = release.building(db_path)
    tables = build_public_tables(con, release_id=build.id)
    write_public_file(tables, build.public)
    # The Atom feed of signals, a file of the release: switched in with the raw and public files.
    write_signals_feed(tables, build.path(feed_file_name(db_path)))
    return build.public


def open_public_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection that sees the public file and nothing else.

    The file is attached as `obs` (so `public.<table>` resolves to it), then file access and
    configuration are locked: no query can ATTACH the raw file, read a CSV or Parquet file, or undo
    the lock.
    """
    path = Path(path)
    missing = (
        f"La base publique {path} n'existe pas. Elle est créée à chaque publication : "
        "« observatoire init », « observatoire demo » ou un chargement de soumissions."
    )
    if not path.exists():
        raise MissingDatabase(missing)
    con = duckdb.connect(":memory:")
    escaped = str(path).replace("'", "''")
    try:
        con.execute(f"attach '{escaped}' as obs (read_only)")
    except duckdb.Error as exc:
        con.close()
        if not path.exists():  # deleted between the check and the attach
            raise MissingDatabase(missing) from exc
        raise UserError(f"La base publique {path} est illisible ou corrompue ({exc}).") from exc
    con.execute("use obs")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con
