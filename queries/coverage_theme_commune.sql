-- name: coverage_theme_commune
-- grain: one row per theme × commune (18 × 45) for one year: persons served, services located in
--        or serving the commune, members active there
-- key: theme, ofs_number
-- parameters: $year (integer)
-- used by: dashboard/views/couverture.py (heatmap, white zones), dashboard/components/needs.py
--          (services of a commune, for the brief)
-- Coverage state (computed at publish, etl/analysis/coverage.py): 'local' (a service located in the
-- commune or naming it), 'canton' (only services declared for the whole canton), 'aucun' (none).
-- A white zone has no local service; a priority white zone also has a high need for the theme.
with
    themes as (select code as theme, label_fr, label_en, sort_order from public.themes),
    communes as (select ofs_number, name from public.communes),
    population as (select ofs_number, population, status from public.population where year = $year),
    activity as (
        select theme, ofs_number, personnes, personnes_supprime, n_members
        from public.activity_year_cube
        where year = $year and category = '*' and ofs_number is not null and theme <> '*'
    ),
    services as (
        select theme, ofs_number, services_located, services_local, services_canton_wide,
            services_serving, members_serving, coverage_state, needs_index, high_need,
            priority_white_zone
        from public.service_coverage
        where year = $year
    ),
    expected as (
        select theme, ofs_number, expected
        from public.commune_comparisons
        where year = $year and comparison = 'besoins'
    ),
    grid as (
        select t.theme, t.label_fr, t.label_en, t.sort_order, c.ofs_number, c.name
        from themes as t
        cross join communes as c
    )
select
    g.theme,
    g.label_fr,
    g.label_en,
    g.sort_order,
    g.ofs_number,
    g.name,
    p.population,
    p.status as population_status,
    a.ofs_number is not null as has_activity,
    case when a.ofs_number is null then 0 else a.personnes end as persons,
    coalesce(a.personnes_supprime, false) as persons_suppressed,
    coalesce(a.n_members, 0) as members_reporting,
    cast(coalesce(s.services_located, 0) as bigint) as services_located,
    cast(coalesce(s.services_local, 0) as bigint) as services_local,
    cast(coalesce(s.services_canton_wide, 0) as bigint) as services_canton_wide,
    cast(coalesce(s.services_serving, 0) as bigint) as services_serving,
    cast(coalesce(s.members_serving, 0) as bigint) as members_serving,
    coalesce(s.coverage_state, 'aucun') as coverage_state,
    coalesce(s.coverage_state, 'aucun') <> 'local' as white_zone,
    coalesce(s.needs_index, 1.0) as needs_index,
    coalesce(s.high_need, false) as high_need,
    coalesce(s.priority_white_zone, false) as priority_white_zone,
    e.expected
from grid as g
left join population as p using (ofs_number)
left join activity as a using (theme, ofs_number)
left join services as s using (theme, ofs_number)
left join expected as e using (theme, ofs_number)
order by g.sort_order, g.ofs_number;
