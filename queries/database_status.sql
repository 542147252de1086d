-- name: database_status
-- grain: one row (the whole database)
-- parameters: none
-- used by: dashboard/data.py (db_info: banner, last load, latest complete year)
select
    last_load_at,
    activity_rows,
    has_demo,
    first_year,
    last_year,
    latest_complete_year
from public.database_status
