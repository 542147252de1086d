-- name: export_years
-- grain: one row per year with published activity, and whether quarterly figures exist for it
-- key: year
-- parameters: none
-- used by: etl/exports/selection.py (load_options: the period range of the Données page and of the command)
with
    years as (select distinct year from public.activity_year_cube),
    quarter_years as (select distinct year from public.activity_quarter_cube)
select y.year, q.year is not null as has_quarters
from years as y
left join quarter_years as q using (year)
order by y.year
