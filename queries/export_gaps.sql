-- name: export_gaps
-- grain: one row per year × commune × theme: the needs index, the expected number, the ratio
--        observed / expected with the Poisson interval of the count, the funnel limits adjusted for
--        overdispersion and the flag, as computed at publish from the published counts
-- key: year, ofs_number, theme
-- parameters: $year_from, $year_to (integers), $themes (theme codes, '*' = all themes together),
--             $ofs (OFS numbers)
-- used by: etl/exports/selection.py (variable « ecart_besoins » of a commune extraction)
with
    comparisons as (
        select *
        from public.commune_comparisons
        where comparison = 'besoins'
            and year between $year_from and $year_to
            and list_contains($themes, theme)
            and list_contains($ofs, ofs_number)
    ),
    needs as (select theme, year, ofs_number, needs_index from public.needs_index)
select
    c.year,
    c.ofs_number,
    c.theme,
    -- Rounded like the rates (an export carries what a reader needs, and Excel keeps 15 digits).
    round(coalesce(n.needs_index, 1.0), 4) as indice_besoins,
    round(c.expected, 2) as attendu,
    round(c.ratio, 4) as rapport_obs_att,
    round(c.ci_lower, 4) as rapport_ic_inf,
    round(c.ci_upper, 4) as rapport_ic_sup,
    round(c.limit_95_lower, 4) as limite_95_inf,
    round(c.limit_95_upper, 4) as limite_95_sup,
    round(c.limit_998_lower, 4) as limite_998_inf,
    round(c.limit_998_upper, 4) as limite_998_sup,
    c.flag as signalement
from comparisons as c
left join needs as n using (theme, year, ofs_number)
order by c.year, c.ofs_number, c.theme
