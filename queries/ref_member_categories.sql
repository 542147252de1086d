-- name: ref_member_categories
-- grain: one row per member category present in the database
-- key: category
-- parameters: none
-- used by: dashboard/data.py (member_categories: Tendances), etl/exports/selection.py
with
    members as (select categories from public.members),
    categories as (select distinct unnest(categories) as category from members)
select category
from categories
order by category
