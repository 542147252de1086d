-- name: export_release
-- grain: one row: the version and publication date of the public file
-- key: (one row)
-- parameters: none
-- used by: etl/exports/documentation.py (citation, README, datapackage; the Données page through it), dashboard/bulletin_data.py
select version, published_at, schema_version, smallest_published_count
from public.release
