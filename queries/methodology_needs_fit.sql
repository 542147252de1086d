-- name: methodology_needs_fit
-- grain: one row per theme with a needs index, for one year: how well the index predicts the persons
--        served across communes (Poisson log-linear fit, deviance explained), and the flags counted
--        with and without the overdispersion adjustment
-- key: theme
-- parameters: $year (integer)
-- used by: dashboard/views/methodologie.py (« how much to trust attendu »)
with
    fits as (select * from public.needs_model_fit where year = $year),
    flags as (
        select
            theme,
            count(*) filter (where flag in ('bas_95', 'bas_998')) as n_low_adjusted,
            count(*) filter (where ci_upper < 1) as n_low_poisson,
            count(*) filter (where flag <> 'non_evalue') as n_assessed
        from public.commune_comparisons
        where year = $year and comparison = 'besoins'
        group by theme
    ),
    dispersion as (
        select theme, phi, tau2 from public.comparison_dispersion
        where year = $year and comparison = 'besoins'
    ),
    themes as (select code, label_fr, label_en, sort_order from public.themes)
select
    f.theme,
    t.label_fr,
    t.label_en,
    f.n_communes,
    f.deviance_explained,
    f.deviance_explained_fixed,
    f.slope,
    f.slope_se,
    d.phi,
    d.tau2,
    coalesce(g.n_low_poisson, 0) as n_low_poisson,
    coalesce(g.n_low_adjusted, 0) as n_low_adjusted
from fits as f
join themes as t on t.code = f.theme
left join dispersion as d using (theme)
left join flags as g using (theme)
order by t.sort_order
