-- name: methodology_needs_mapping
-- grain: one row per theme × indicator of the needs model's mapping, as published with this release
-- key: theme, indicator_code
-- parameters: none
-- used by: dashboard/views/methodologie.py (the mapping table)
with
    mapping as (select theme, indicator_code, weight, direction, rationale from public.needs_mapping),
    themes as (select code, label_fr, label_en, sort_order from public.themes),
    definitions as (select code, label_fr, label_en from public.indicator_definitions)
select
    m.theme,
    t.label_fr as theme_label_fr,
    t.label_en as theme_label_en,
    m.indicator_code,
    d.label_fr,
    d.label_en,
    m.weight,
    m.direction,
    m.rationale
from mapping as m
left join themes as t on t.code = m.theme
left join definitions as d on d.code = m.indicator_code
order by t.sort_order, m.indicator_code
