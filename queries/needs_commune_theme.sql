-- name: needs_commune_theme
-- grain: one row per commune (the 45), for one theme and one year, with the canton's figures
--        repeated on each row (the base of the commune-vs-canton comparison and of the gap ratio)
-- key: ofs_number
-- parameters: $theme (theme code, or '*' for all themes), $year (integer)
-- used by: dashboard/components/needs.py (the Besoins map and under-served list, the brief's
--          comparisons), dashboard/bulletin_data.py (the bulletin's under-served communes)
-- A commune absent from the activity cube had nobody reported for it: 0 persons (not unknown).
-- Suppressed counts (1–4, disclosure control) arrive as NULL with their `_supprime` flag.
with
    communes as (select ofs_number, name from public.communes),
    population as (
        select ofs_number, population, status
        from public.population
        where year = $year
    ),
    canton_population as (
        select population, status from public.population_canton where year = $year
    ),
    commune_activity as (
        select
            ofs_number,
            personnes,
            personnes_supprime,
            demandes_non_satisfaites,
            demandes_non_satisfaites_supprime,
            liste_attente,
            liste_attente_supprime,
            n_members
        from public.activity_year_cube
        where year = $year and theme = $theme and category = '*' and ofs_number is not null
    ),
    canton_activity as (
        select
            personnes,
            personnes_supprime,
            demandes_non_satisfaites,
            demandes_non_satisfaites_supprime,
            n_members
        from public.activity_year_cube
        where year = $year and theme = $theme and category = '*' and lieu = 'GE'
    ),
    comparisons as (
        select * from public.commune_comparisons where year = $year and theme = $theme
    ),
    needs as (
        select ofs_number, needs_index, any_carried, any_later, any_inferred, any_bounded,
            indicators_missing
        from public.needs_index
        where year = $year and theme = $theme
    ),
    joined as (
        select
            c.ofs_number,
            c.name,
            p.population,
            p.status as population_status,
            a.ofs_number is not null as has_activity,
            case when a.ofs_number is null then 0 else a.personnes end as persons,
            coalesce(a.personnes_supprime, false) as persons_suppressed,
            a.demandes_non_satisfaites as unmet_requests,
            coalesce(a.demandes_non_satisfaites_supprime, false) as unmet_suppressed,
            a.liste_attente as waiting_list,
            coalesce(a.liste_attente_supprime, false) as waiting_suppressed,
            coalesce(a.n_members, 0) as n_members
        from communes as c
        left join population as p using (ofs_number)
        left join commune_activity as a using (ofs_number)
    )
select
    j.*,
    coalesce(n.needs_index, 1.0) as needs_index,
    coalesce(n.any_carried, false) as any_carried_forward,
    coalesce(n.any_later, false) as any_later,
    coalesce(n.any_inferred, false) as any_inferred,
    coalesce(n.any_bounded, false) as any_bounded,
    coalesce(n.indicators_missing, 0) as indicators_missing,
    g.expected,
    g.ratio as gap_ratio,
    g.ci_lower as gap_lower,
    g.ci_upper as gap_upper,
    g.z_adjusted as gap_z,
    g.limit_95_lower as gap_limit_95_lower,
    g.limit_95_upper as gap_limit_95_upper,
    g.limit_998_lower as gap_limit_998_lower,
    g.limit_998_upper as gap_limit_998_upper,
    coalesce(g.flag, 'non_evalue') as gap_flag,
    r.flag as canton_flag,
    r.limit_95_lower as canton_limit_95_lower,
    r.limit_95_upper as canton_limit_95_upper,
    ca.personnes as canton_persons,
    coalesce(ca.personnes_supprime, false) as canton_persons_suppressed,
    ca.demandes_non_satisfaites as canton_unmet_requests,
    coalesce(ca.demandes_non_satisfaites_supprime, false) as canton_unmet_suppressed,
    ca.n_members as canton_members,
    cp.population as canton_population,
    cp.status as canton_population_status
from joined as j
left join canton_activity as ca on true
left join canton_population as cp on true
left join needs as n on n.ofs_number = j.ofs_number
left join comparisons as g on g.ofs_number = j.ofs_number and g.comparison = 'besoins'
left join comparisons as r on r.ofs_number = j.ofs_number and r.comparison = 'canton'
order by j.ofs_number;
