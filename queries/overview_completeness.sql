-- name: overview_completeness
-- grain: one row per member active in the year $year: what it sent for that year
-- key: member_code
-- parameters: $year (integer)
-- used by: dashboard/views/overview.py (completeness of the period)
with
    members as (
        select code, name, categories, active_since
        from public.members
        where active_since is null or year(active_since) <= $year
    ),
    member_years as (
        select member_code, granularity, n_periods, n_periods_expected, covered_until
        from public.member_years
        where year = $year
    ),
    last_loads as (
        select member_code, max(loaded_at) as last_loaded_at
        from public.submissions
        where year = $year
        group by member_code
    )
select
    m.code as member_code,
    m.name,
    m.categories,
    y.granularity,
    coalesce(y.n_periods, 0) as n_periods,
    y.n_periods_expected,
    y.covered_until,
    l.last_loaded_at,
    case
        when y.member_code is null then 'manquant'
        when y.n_periods < y.n_periods_expected then 'partiel'
        else 'complet'
    end as status
from members as m
left join member_years as y on y.member_code = m.code
left join last_loads as l on l.member_code = m.code
order by
    case status when 'manquant' then 1 when 'partiel' then 2 else 3 end,
    m.name collate nocase
