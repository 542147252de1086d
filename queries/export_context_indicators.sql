-- name: export_context_indicators
-- grain: one row per commune × year × indicator: the latest value published up to that year
--        (value_year says which year it is; NULL when none is published yet)
-- key: ofs_number, year, indicator_code
-- parameters: $codes (indicator codes), $ofs (OFS numbers), $year_from, $year_to (integers)
-- used by: etl/exports/selection.py (needs indicators joined to a commune extraction)
with
    indicators as (
        select ofs_number, year, indicator_code, value
        from public.indicators
        where list_contains($codes, indicator_code) and list_contains($ofs, ofs_number)
    ),
    wanted as (
        select o.ofs_number, y.year, c.indicator_code
        from unnest($ofs) as o(ofs_number)
        cross join generate_series($year_from, $year_to) as y(year)
        cross join unnest($codes) as c(indicator_code)
    )
select w.ofs_number, cast(w.year as integer) as year, w.indicator_code, i.value,
    i.year as value_year
from wanted as w
asof left join indicators as i
    on i.ofs_number = w.ofs_number and i.indicator_code = w.indicator_code and w.year >= i.year
order by w.ofs_number, w.year, w.indicator_code
