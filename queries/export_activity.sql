-- name: export_activity
-- grain: one row per period (year, or quarter) × place (commune, or the canton 'GE') × theme × member
--        category, as published in the public file (suppressed counts NULL, with their flags)
-- key: annee, trimestre, no_ofs, territoire, theme, categorie_membres
-- parameters: $granularity ('annee' | 'trimestre'), $year_from, $year_to (integers),
--             $themes (theme codes, '*' = all themes together), $lieux (OFS numbers as text, or
--             'GE' for the canton), $categories (member categories, '*' = every member)
-- used by: etl/exports/selection.py (page Données, command « observatoire exporter »)
-- The rate is computed from the published count only: a suppressed count (NULL) gives a NULL rate.
with
    -- The two cubes share their columns; a year cell has no quarter.
    cells as (
        select *, cast(null as integer) as quarter
        from public.activity_year_cube
        where $granularity = 'annee'
        union all by name
        select *
        from public.activity_quarter_cube
        where $granularity = 'trimestre'
    ),
    chosen as (
        select *
        from cells
        where year between $year_from and $year_to
            and list_contains($themes, theme)
            and list_contains($lieux, lieu)
            and list_contains($categories, category)
    ),
    themes as (select code, label_fr, sort_order from public.themes),
    communes as (select ofs_number, name from public.communes),
    commune_population as (select ofs_number, year, population, status from public.population),
    canton_population as (select year, population, status from public.population_canton),
    with_population as (
        select
            c.*,
            coalesce(cp.population, kp.population) as population,
            coalesce(cp.status, kp.status) as population_status
        from chosen as c
        left join commune_population as cp on cp.ofs_number = c.ofs_number and cp.year = c.year
        left join canton_population as kp on c.lieu = 'GE' and kp.year = c.year
    )
select
    c.year as annee,
    c.quarter as trimestre,
    c.ofs_number as no_ofs,
    case when c.lieu = 'GE' then 'Canton de Genève (45 communes)' else m.name end as territoire,
    c.theme,
    case when c.theme = '*' then 'Toutes les thématiques' else t.label_fr end as theme_libelle,
    c.category as categorie_membres,
    c.personnes,
    c.personnes_supprime,
    c.prestations,
    c.prestations_supprime,
    c.nouvelles_personnes,
    c.nouvelles_personnes_supprime,
    c.femmes,
    c.femmes_supprime,
    c.hommes,
    c.hommes_supprime,
    c.mineurs,
    c.mineurs_supprime,
    c.seniors_65,
    c.seniors_65_supprime,
    c.demandes_non_satisfaites,
    c.demandes_non_satisfaites_supprime,
    c.liste_attente,
    c.liste_attente_supprime,
    c.population,
    c.population_status as population_statut,
    round(c.personnes * 1000.0 / nullif(c.population, 0), 2) as taux_pour_1000,
    c.personnes_supprime as taux_pour_1000_supprime,
    c.is_demo as donnees_demo
from with_population as c
left join themes as t on t.code = c.theme
left join communes as m on m.ofs_number = c.ofs_number
order by
    c.year, c.quarter, c.ofs_number nulls first, c.theme <> '*', t.sort_order, c.category <> '*',
    c.category
