-- name: methodology_indicators
-- grain: one row per needs indicator: what it measures, its source, the years and communes covered
-- key: code
-- parameters: none
-- used by: dashboard/views/methodologie.py (sources)
with
    definitions as (
        select code, label_fr, label_en, unit_fr, unit_en, polarity, source
        from public.indicator_definitions
    ),
    values_by_indicator as (
        select
            indicator_code,
            string_agg(distinct cast(year as varchar), ', ' order by cast(year as varchar)) as years,
            count(distinct ofs_number) as n_communes,
            bool_or(year_inferred) as any_year_inferred
        from public.indicators
        group by indicator_code
    )
select
    d.code,
    d.label_fr,
    d.label_en,
    d.unit_fr,
    d.unit_en,
    d.polarity,
    d.source,
    v.years,
    coalesce(v.n_communes, 0) as n_communes,
    coalesce(v.any_year_inferred, false) as any_year_inferred
from definitions as d
left join values_by_indicator as v on v.indicator_code = d.code
order by d.code
