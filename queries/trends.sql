-- name: trends
-- grain: one row per period × theme × lieu × category cell asked for (one point of one series); the
--        period is a year or a quarter as $step says. Quarters come from quarterly and monthly
--        submissions only (members reporting once a year are not in them).
-- key: year, quarter, theme, lieu, category
-- parameters: $step (varchar: 'annee' = by year, from public.activity_year_cube; 'trimestre' = by
--             quarter, from public.activity_quarter_cube; etl.vocabulary.CUBE_PERIOD_KINDS),
--             $metric (varchar: personnes, prestations, nouvelles_personnes,
--             demandes_non_satisfaites, liste_attente), $themes (varchar[]: theme codes, '*' = all),
--             $lieux (varchar[]: OFS numbers as text, 'GE' = the 45 communes, '*' = every place,
--             'hors_canton', 'non_renseignee'), $categories (varchar[]: member categories, '*' = all)
-- used by: dashboard/views/trends.py, dashboard/components/signals.py (a signal's history), dashboard/bulletin_data.py
-- quarter, quarter_start: NULL by year.
-- previous_suppressed: the period compared with is withheld (« X », not « no data »).
-- Suppressed counts (DESIGN §6) are NULL with suppressed = true: their rate and change are NULL.
-- Rates per 1,000 residents exist for a commune and for 'GE' only (no population for '*' or
-- hors canton); population_status says whether the denominator is published or estimated. A
-- quarter's rate uses the population of its year; change_pct compares with the same period a year
-- before (the year before, or the same quarter of the year before).
with
    year_cube as (select * from public.activity_year_cube),
    quarter_cube as (select * from public.activity_quarter_cube),
    commune_population as (
        select ofs_number, year, population, status, definition from public.population
    ),
    canton_population as (
        select year, population, status, definition from public.population_canton
    ),
    -- The cube of the step; a year is quarter NULL.
    cube as (
        select
            year, cast(null as integer) as quarter, theme, lieu, ofs_number, category, n_members,
            personnes, prestations, nouvelles_personnes, demandes_non_satisfaites, liste_attente,
            personnes_supprime, prestations_supprime, nouvelles_personnes_supprime,
            demandes_non_satisfaites_supprime, liste_attente_supprime
        from year_cube
        where $step = 'annee'
        union all
        select
            year, quarter, theme, lieu, ofs_number, category, n_members,
            personnes, prestations, nouvelles_personnes, demandes_non_satisfaites, liste_attente,
            personnes_supprime, prestations_supprime, nouvelles_personnes_supprime,
            demandes_non_satisfaites_supprime, liste_attente_supprime
        from quarter_cube
        where $step = 'trimestre'
    ),
    cells as (
        select
            year, quarter, theme, lieu, ofs_number, category, n_members,
            case $metric
                when 'personnes' then personnes
                when 'prestations' then prestations
                when 'nouvelles_personnes' then nouvelles_personnes
                when 'demandes_non_satisfaites' then demandes_non_satisfaites
                when 'liste_attente' then liste_attente
            end as value,
            case $metric
                when 'personnes' then personnes_supprime
                when 'prestations' then prestations_supprime
                when 'nouvelles_personnes' then nouvelles_personnes_supprime
                when 'demandes_non_satisfaites' then demandes_non_satisfaites_supprime
                when 'liste_attente' then liste_attente_supprime
            end as suppressed
        from cube
        where list_contains($themes, theme)
            and list_contains($lieux, lieu)
            and list_contains($categories, category)
    ),
    with_population as (
        select
            c.*,
            coalesce(cp.population, gp.population) as population,
            coalesce(cp.status, gp.status) as population_status,
            coalesce(cp.definition, gp.definition) as population_definition
        from cells as c
        left join commune_population as cp on cp.ofs_number = c.ofs_number and cp.year = c.year
        left join canton_population as gp on c.lieu = 'GE' and gp.year = c.year
    ),
    with_previous as (
        select cur.*, prev.value as previous_value, prev.suppressed as previous_suppressed
        from with_population as cur
        left join cells as prev
            on prev.theme = cur.theme and prev.lieu = cur.lieu and prev.category = cur.category
            and prev.year = cur.year - 1 and prev.quarter is not distinct from cur.quarter
    )
select
    year,
    quarter,
    make_date(year, 3 * quarter - 2, 1) as quarter_start,
    theme,
    lieu,
    category,
    value,
    coalesce(suppressed, false) as suppressed,
    n_members,
    population,
    population_status,
    population_definition,
    1000.0 * value / population as rate_per_1000,
    previous_value,
    coalesce(previous_suppressed, false) as previous_suppressed,
    case when previous_value > 0 then 100.0 * (value - previous_value) / previous_value end
        as change_pct
from with_previous
order by theme, lieu, category, year, quarter
