-- name: needs_population
-- grain: one row per commune × year of the reference population series, with its status
--        (publie / interpole / reporte) so that values resting on estimates can be flagged
-- key: ofs_number, year
-- parameters: none
-- used by: dashboard/components/needs.py (denominators of the indicators' Wilson intervals)
with population as (select ofs_number, year, population, status from public.population)
select ofs_number, year, population, status
from population
order by ofs_number, year;
