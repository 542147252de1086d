-- name: overview_kpis
-- grain: one row per headline figure (persons served, members reporting, communes reached, unmet
--        requests, waiting list, services delivered) for the year $year, with the year before
-- key: metric
-- parameters: $year (integer): the year shown
-- used by: dashboard/views/overview.py
-- Counts suppressed by disclosure control (DESIGN §6) are NULL with suppressed = true; a change is
-- only computed between two published values.
with
    canton_cells as (
        select *
        from public.activity_year_cube
        where theme = '*' and lieu = '*' and category = '*' and year in ($year, $year - 1)
    ),
    figures as (
        select year, 1 as sort_order, 'personnes' as metric, personnes as value,
            personnes_supprime as suppressed
        from canton_cells
        union all
        select year, 2, 'n_members', n_members, false from canton_cells
        union all
        select year, 3, 'n_communes', n_communes, false from canton_cells
        union all
        select year, 4, 'demandes_non_satisfaites', demandes_non_satisfaites,
            demandes_non_satisfaites_supprime
        from canton_cells
        union all
        select year, 5, 'liste_attente', liste_attente, liste_attente_supprime from canton_cells
        union all
        select year, 6, 'prestations', prestations, prestations_supprime from canton_cells
    ),
    metrics as (
        select * from (values
            ('personnes', 1), ('n_members', 2), ('n_communes', 3),
            ('demandes_non_satisfaites', 4), ('liste_attente', 5), ('prestations', 6)
        ) as m(metric, sort_order)
    ),
    current_year as (select metric, value, suppressed from figures where year = $year),
    previous_year as (select metric, value, suppressed from figures where year = $year - 1)
select
    m.metric,
    $year as year,
    c.value,
    coalesce(c.suppressed, false) as suppressed,
    p.value as previous_value,
    coalesce(p.suppressed, false) as previous_suppressed,
    c.value - p.value as change,
    case when p.value > 0 then 100.0 * (c.value - p.value) / p.value end as change_pct
from metrics as m
left join current_year as c using (metric)
left join previous_year as p using (metric)
order by m.sort_order
