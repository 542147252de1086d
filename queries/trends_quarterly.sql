-- name: trends_quarterly
-- grain: one row per year × quarter × theme × lieu × category cell asked for, from quarterly and
--        monthly submissions only (members reporting once a year are not in it)
-- key: year, quarter, theme, lieu, category
-- parameters: $metric, $themes, $lieux, $categories (as in trends_yearly)
-- used by: dashboard/views/trends.py, dashboard/components/signals.py (a signal's history), dashboard/bulletin_data.py
-- previous_suppressed: the period compared with is withheld (« X », not « no data »).
-- Suppressed counts are NULL with suppressed = true (DESIGN §6).
-- Rates use the population of the year; change_pct compares with the same quarter a year before.
with
    cube as (select * from public.activity_quarter_cube),
    commune_population as (
        select ofs_number, year, population, status, definition from public.population
    ),
    canton_population as (
        select year, population, status, definition from public.population_canton
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
            and prev.year = cur.year - 1 and prev.quarter = cur.quarter
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
