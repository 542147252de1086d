-- name: database_status
-- grain: one row (the whole database and its publication)
-- key: (one row)
-- parameters: none
-- used by: dashboard/data.py (db_info: banner, last load, latest complete year, version), dashboard/bulletin_data.py, etl/analysis/feed.py
with
    status as (select * from public.database_status),
    release as (
        select version, published_at, smallest_published_count from public.release
    )
select
    s.last_load_at,
    s.activity_rows,
    s.has_demo,
    s.first_year,
    s.last_year,
    s.latest_complete_year,
    r.version,
    r.published_at,
    r.smallest_published_count
from status as s
left join release as r on true
