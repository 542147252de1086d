"""The observatory's words, defined once: codes, sentinels, measures, statuses, period kinds.

Every layer (member files, the ETL, the derived SQL, the public file, the pages, the downloads) uses
these exact strings; the SQL files and the schema's CHECK constraints spell them out too
(docs/ARCHITECTURE.md, « Vocabulary »). Pure constants: no Streamlit, no DuckDB, no Polars.
"""

from __future__ import annotations

# --- codes of the activity cubes (etl/schema/derived/050_aggregates.sql) ----------------------------

# The margin « all »: every theme, every member category, or every place (in and out of the canton).
ALL = "*"
# The place code of the 45 communes together (the canton of Geneva).
CANTON = "GE"
# Places of a member's row that are not one of the 45 communes.
OUTSIDE_CANTON = "hors_canton"  # the person lives outside the canton
PLACE_NOT_GIVEN = "non_renseignee"  # the member did not say where the person lives
PLACES_OUTSIDE_COMMUNES = (OUTSIDE_CANTON, PLACE_NOT_GIVEN)
# The place codes of the cubes that are not a commune's OFS number (DESIGN §4).
AGGREGATE_PLACES = (CANTON, *PLACES_OUTSIDE_COMMUNES)

# The counts a member reports for a period × theme × place, in the order of the template, and the
# counts of the cubes: each is suppressed when it is 1–4 (DESIGN §6).
CUBE_MEASURES = (
    "personnes",
    "prestations",
    "nouvelles_personnes",
    "femmes",
    "hommes",
    "mineurs",
    "seniors_65",
    "demandes_non_satisfaites",
    "liste_attente",
)

# --- population (table population; etl/steps/population.py) -----------------------------------------

PUBLISHED, INTERPOLATED, CARRIED_FORWARD = "publie", "interpole", "reporte"
POPULATION_STATUSES = (PUBLISHED, INTERPOLATED, CARRIED_FORWARD)
# A population the statistical office did not publish for that year: pages flag rates built on it.
ESTIMATED_POPULATION = (INTERPOLATED, CARRIED_FORWARD)

# --- load runs (table load_runs, etl/schema/003_load_runs.sql) ---------------------------------------

RUN_LOADED = "charge"
RUN_REPLACED = "remplace"  # loaded, replacing the member's earlier file for that period
RUN_REJECTED = "rejete"
RUN_ALREADY_LOADED = "deja_charge"  # the same file (same hash) was loaded before
RUN_FAILED = "erreur"  # an internal error: nothing written
RUN_REMOVED = "retire"  # `observatoire retirer` took a submission out
RUN_STATUSES = (
    RUN_LOADED,
    RUN_REPLACED,
    RUN_REJECTED,
    RUN_ALREADY_LOADED,
    RUN_FAILED,
    RUN_REMOVED,
)

# --- period kinds (table periods, column granularity) -----------------------------------------------

YEAR, QUARTER, MONTH = "annee", "trimestre", "mois"
PERIOD_KINDS = (YEAR, QUARTER, MONTH)
# The period kinds the public activity cubes are published by (activity_year_cube,
# activity_quarter_cube): a member's months are summed into quarters.
CUBE_PERIOD_KINDS = (YEAR, QUARTER)
