"""Filtered, documented, citable extractions of the public data (Données page and command line).

One module serves both: the page passes the dashboard's cached `data.run`, the command line
`public_runner(db_path)`; both read the public file only (etl/public.py), so every export carries the
disclosure control of DESIGN §6. A selection (`Selection`) is checked against what the database holds
(`check_selection`), extracted into one Polars frame (`extract`) and written as CSV (etl/spreadsheet.py:
UTF-8 with BOM, the format of every CSV download), Excel (a README sheet with the data dictionary,
sources, licence, citation, filters, dates and version), Parquet, or a ZIP holding the CSV, the
dictionary and a Frictionless `datapackage.json`. Text cells that a spreadsheet would run as a formula
are neutralised in CSV and Excel.

Callers import this package only (`from etl import exports`); its parts are `selection.py` (what is
asked, the rows), `documentation.py` (dictionary, citation, README) and `formats.py` (the files).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from etl import queries
from etl.exports.documentation import (  # noqa: F401 (the module's interface)
    DATASET_PATH,
    DICTIONARY_PATH,
    TABLE,
    UNPUBLISHED_NOTE,
    Metadata,
    Release,
    citation,
    cli_command,
    dataset,
    describe_selection,
    dictionary,
    metadata,
    readme_rows,
    release,
)
from etl.exports.formats import (  # noqa: F401 (the module's interface)
    FORMATS,
    FRICTIONLESS_TYPES,
    MIME_TYPES,
    datapackage,
    file_name,
    render,
    to_excel,
    to_parquet,
    to_zip,
)
from etl.exports.selection import (  # noqa: F401 (the module's interface)
    ALL,
    CANTON,
    CATEGORY_COLUMN,
    DEFAULT_VARIABLES,
    DEMO_COLUMN,
    DERIVED_VARIABLES,
    GAP,
    GAP_COLUMNS,
    GRANULARITIES,
    KEY_COLUMNS,
    LEVELS,
    POPULATION,
    RATE,
    Options,
    Selection,
    check_selection,
    extract,
    load_options,
    nearest_published,
    output_columns,
    unpublished,
    unpublished_message,
)
from etl.public import open_public_reader
from etl.queries import Runner
from etl.release import read_current
from etl.spreadsheet import (  # noqa: F401 (one path for every download: pages import them from here)
    csv_text,
    neutral_text,
    neutralise_formulas,
    to_csv,
    to_xlsx,
)

# --- reading the public file outside Streamlit (command line, tests) -----------------------------------


@contextlib.contextmanager
def public_runner(db_path: Path) -> Iterator[Runner]:
    """A `run(query_name, **params)` on the public file of the current release of `db_path`
    (never the raw file): the query runner of etl/queries.py, with its allow-list of names and its
    check of parameters, as the dashboard's `data.run`."""
    con = read_current(db_path, lambda live: open_public_reader(live.public))
    try:
        yield queries.runner(con)
    finally:
        con.close()
