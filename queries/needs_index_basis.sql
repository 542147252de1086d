-- name: needs_index_basis
-- grain: one row per indicator mapped to one theme, for one analysis year: weight, direction, the
--        years its values come from and how many communes' values are carried, later or bounded
-- key: indicator_code
-- parameters: $theme (theme code), $year (integer)
-- used by: dashboard/components/needs.py (the note under the Besoins map)
with
    mapping as (
        select indicator_code, weight, direction from public.needs_mapping where theme = $theme
    ),
    used as (
        select indicator_code, value_year, carried, later, bounded, year_inferred
        from public.needs_indicator_values
        where theme = $theme and year = $year
    ),
    summary as (
        select
            indicator_code,
            min(value_year) as first_value_year,
            max(value_year) as last_value_year,
            count(*) as n_communes,
            count(*) filter (where carried) as n_carried,
            count(*) filter (where later) as n_later,
            count(*) filter (where bounded) as n_bounded,
            bool_or(year_inferred) as any_year_inferred
        from used
        group by indicator_code
    ),
    definitions as (select code, label_fr, label_en from public.indicator_definitions)
select
    m.indicator_code,
    d.label_fr,
    d.label_en,
    m.weight,
    m.direction,
    s.first_value_year,
    s.last_value_year,
    coalesce(s.n_communes, 0) as n_communes,
    coalesce(s.n_carried, 0) as n_carried,
    coalesce(s.n_later, 0) as n_later,
    coalesce(s.n_bounded, 0) as n_bounded,
    coalesce(s.any_year_inferred, false) as any_year_inferred
from mapping as m
left join summary as s using (indicator_code)
left join definitions as d on d.code = m.indicator_code
order by m.indicator_code
