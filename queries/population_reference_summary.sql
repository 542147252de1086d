-- name: population_reference_summary
-- grain: one row per year: the population series used for rates that year, and how much is estimated
-- key: year
-- parameters: none
-- used by: dashboard/views/methodologie.py (what is estimated)
with
    population as (select year, definition, status, population from public.population)
select
    year,
    string_agg(distinct definition, ', ' order by definition) as definition,
    sum(population) as population,
    count(*) filter (where status = 'publie') as n_published,
    count(*) filter (where status = 'interpole') as n_interpolated,
    count(*) filter (where status = 'reporte') as n_carried_forward
from population
group by year
order by year
