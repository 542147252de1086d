"""The demo database every dashboard and query test reads (built once, through the real ETL).

Kept out of conftest.py: several folders have a conftest module, so importing from "conftest" is
ambiguous.
"""

DEMO_SEED = 7
DEMO_YEARS = (2019, 2024)
DEMO_SCALE = 0.1
# The newest year with every quarter in the demo database: the year most tests look at.
LATEST_COMPLETE_YEAR = DEMO_YEARS[1]
