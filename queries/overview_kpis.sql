-- name: overview_kpis
-- grain: one row per headline figure (persons served, members reporting, communes reached, unmet
--        requests, waiting list, services delivered) for the year $year, with the year before
-- parameters: $year (integer): the year shown
-- used by: dashboard/views/overview.py
with
    canton_cells as (
        select year, personnes, n_members, n_communes, demandes_non_satisfaites, liste_attente,
            prestations
        from public.activity_year_cube
        where theme = '*' and lieu = '*' and category = '*' and year in ($year, $year - 1)
    ),
    figures as (
        unpivot canton_cells
        on personnes, n_members, n_communes, demandes_non_satisfaites, liste_attente, prestations
        into name metric value value
    ),
    current_year as (select metric, value from figures where year = $year),
    previous_year as (select metric, value from figures where year = $year - 1),
    metrics as (
        select * from (values
            ('personnes', 1), ('n_members', 2), ('n_communes', 3),
            ('demandes_non_satisfaites', 4), ('liste_attente', 5), ('prestations', 6)
        ) as m(metric, sort_order)
    )
select
    m.metric,
    $year as year,
    c.value,
    p.value as previous_value,
    c.value - p.value as change,
    case when p.value > 0 then 100.0 * (c.value - p.value) / p.value end as change_pct
from metrics as m
left join current_year as c using (metric)
left join previous_year as p using (metric)
order by m.sort_order
