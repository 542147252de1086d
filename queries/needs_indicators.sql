-- name: needs_indicators
-- grain: one row per commune × indicator × year (the real public needs indicators, DESIGN §3),
--        with the indicator's labels, unit and polarity
-- key: ofs_number, year, indicator_code
-- parameters: none
-- used by: dashboard/views/besoins.py (map measure), dashboard/components/needs.py (needs index,
--          the brief's indicators)
with
    indicators as (
        select ofs_number, year, indicator_code, value, year_inferred from public.indicators
    ),
    definitions as (
        select code, label_fr, label_en, unit_fr, unit_en, polarity, source
        from public.indicator_definitions
    )
select
    i.ofs_number,
    i.year,
    i.indicator_code,
    i.value,
    i.year_inferred,
    d.label_fr,
    d.label_en,
    d.unit_fr,
    d.unit_en,
    d.polarity,
    d.source
from indicators as i
join definitions as d on d.code = i.indicator_code
order by i.indicator_code, i.ofs_number, i.year;
