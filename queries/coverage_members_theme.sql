-- name: coverage_members_theme
-- grain: one row per theme: members who declare it, members who reported activity in it during
--        the year, persons served in the canton, communes reached, communes with a local service
--        and communes served only by canton-wide services
-- key: theme
-- parameters: $year (integer)
-- used by: dashboard/views/couverture.py (members per theme)
-- Persons may be counted by several members (no shared identifier): say so beside the figure.
with
    themes as (select code as theme, label_fr, label_en, sort_order from public.themes),
    declared as (
        select theme, count(*) as members_declared
        from public.members, unnest(themes) as u(theme)
        group by theme
    ),
    activity as (
        select theme, personnes, personnes_supprime, n_members, n_communes
        from public.activity_year_cube
        where year = $year and category = '*' and lieu = 'GE' and theme <> '*'
    ),
    services as (
        select
            theme,
            count(*) filter (where coverage_state = 'local') as communes_served,
            count(*) filter (where coverage_state = 'canton') as communes_canton_only
        from public.service_coverage
        where year = $year
        group by theme
    )
select
    t.theme,
    t.label_fr,
    t.label_en,
    t.sort_order,
    coalesce(d.members_declared, 0) as members_declared,
    coalesce(a.n_members, 0) as members_reporting,
    a.personnes as persons,
    coalesce(a.personnes_supprime, false) as persons_suppressed,
    coalesce(a.n_communes, 0) as communes_with_activity,
    coalesce(s.communes_served, 0) as communes_with_service,
    coalesce(s.communes_canton_only, 0) as communes_canton_only
from themes as t
left join declared as d using (theme)
left join activity as a using (theme)
left join services as s using (theme)
order by t.sort_order;
