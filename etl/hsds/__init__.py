"""The directory in the Open Referral HSDS 3.0 tabular form: CSV files and a datapackage.json, zipped.

Field names, order and types follow HSDS 3.0 (`schema/compiled/tabular.json` of
github.com/openreferral/specification); deprecated fields are left out. Identifiers are UUIDs derived
with uuid5 from stable keys (member code, service number, commune), so that a platform importing the
file twice sees the same records. What the submission does not hold (websites, coordinates…) stays
empty; the mapping is written in `FIELD_SOURCES` and in the datapackage's descriptions.
"""

from etl.hsds.package import build_tables, build_zip, datapackage  # noqa: F401
