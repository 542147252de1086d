-- name: overview_least_met
-- grain: one row per theme × commune whose persons served fall below the adjusted 95 % funnel limit
--        of the needs-based expectation in the year (the published gap analysis, comparison
--        'besoins'; flags 'bas_998' and 'bas_95' of etl/analysis/funnel.py)
-- key: theme, ofs_number
-- parameters: $year (integer)
-- used by: dashboard/components/answers.py (Vue d'ensemble: where needs are least met)
-- Flags are computed at publish from the protected counts, with overdispersion (docs/ECARTS.md); a
-- withheld count has no flag and is never listed.
with
    comparisons as (
        select theme, ofs_number, ratio, flag
        from public.commune_comparisons
        where year = $year and comparison = 'besoins' and theme <> '*'
            and flag in ('bas_998', 'bas_95')
    ),
    themes as (select code as theme, label_fr, label_en, sort_order from public.themes),
    communes as (select ofs_number, name from public.communes)
select c.theme, t.label_fr, t.label_en, t.sort_order, c.ofs_number, m.name, c.flag, c.ratio
from comparisons as c
join themes as t using (theme)
join communes as m using (ofs_number)
order by t.sort_order, c.flag desc, c.ratio, m.name
