-- name: fiche_trends
-- grain: one row per year × theme (theme '*' = all themes) for one commune, with the canton's
--        figures of the same year and theme
-- key: year, theme
-- parameters: $ofs (OFS number of the commune)
-- used by: dashboard/components/needs.py (trends of the commune brief, on the page and in its
--          HTML/PDF export)
with
    commune_activity as (
        select
            year,
            theme,
            personnes,
            personnes_supprime,
            demandes_non_satisfaites,
            demandes_non_satisfaites_supprime,
            liste_attente,
            liste_attente_supprime,
            n_members
        from public.activity_year_cube
        where category = '*' and ofs_number = $ofs
    ),
    canton_activity as (
        select year, theme, personnes, personnes_supprime, demandes_non_satisfaites
        from public.activity_year_cube
        where category = '*' and lieu = 'GE'
    ),
    population as (select year, population, status from public.population where ofs_number = $ofs),
    canton_population as (select year, population, status from public.population_canton),
    -- Expected numbers, ratios and flags computed at publish from the published counts.
    comparisons as (select * from public.commune_comparisons where ofs_number = $ofs),
    needs as (select year, theme, needs_index from public.needs_index where ofs_number = $ofs)
select
    ca.year,
    ca.theme,
    a.year is not null as has_activity,
    case when a.year is null then 0 else a.personnes end as persons,
    coalesce(a.personnes_supprime, false) as persons_suppressed,
    a.demandes_non_satisfaites as unmet_requests,
    coalesce(a.demandes_non_satisfaites_supprime, false) as unmet_suppressed,
    a.liste_attente as waiting_list,
    coalesce(a.liste_attente_supprime, false) as waiting_suppressed,
    coalesce(a.n_members, 0) as n_members,
    p.population,
    p.status as population_status,
    ca.personnes as canton_persons,
    coalesce(ca.personnes_supprime, false) as canton_persons_suppressed,
    ca.demandes_non_satisfaites as canton_unmet_requests,
    cp.population as canton_population,
    cp.status as canton_population_status,
    coalesce(n.needs_index, 1.0) as needs_index,
    g.expected,
    g.ratio as gap_ratio,
    g.ci_lower as gap_lower,
    g.ci_upper as gap_upper,
    coalesce(g.flag, 'non_evalue') as gap_flag,
    r.flag as canton_flag
from canton_activity as ca
left join commune_activity as a using (year, theme)
left join population as p using (year)
left join canton_population as cp using (year)
left join needs as n using (year, theme)
left join comparisons as g on g.year = ca.year and g.theme = ca.theme and g.comparison = 'besoins'
left join comparisons as r on r.year = ca.year and r.theme = ca.theme and r.comparison = 'canton'
order by ca.theme, ca.year;
