-- name: methodology_disclosure_shares
-- grain: one row per published crossing of the activity cubes (persons), plus one row for every number of both cubes (all measures)
-- key: crossing
-- parameters: none
-- used by: dashboard/views/methodologie.py (what disclosure control withholds in this release)
-- A number is published when its value or its `_supprime` flag is set (a measure no member
-- reports is neither); the shares are the release's own, read from the public file.
with
    year_cube as (select *, ofs_number is not null as is_commune from public.activity_year_cube),
    quarter_cube as (
        select *, ofs_number is not null as is_commune from public.activity_quarter_cube
    ),
    persons_by_crossing as (
        select 1 as sort_order, 'commune_year_total' as crossing, personnes_supprime as withheld
        from year_cube where is_commune and theme = '*' and category = '*'
        union all
        select 2, 'commune_year_theme', personnes_supprime
        from year_cube where is_commune and theme <> '*' and category = '*'
        union all
        select 3, 'commune_quarter_total', personnes_supprime
        from quarter_cube where is_commune and theme = '*' and category = '*'
        union all
        select 4, 'canton_year_theme', personnes_supprime
        from year_cube where lieu = 'GE' and theme <> '*' and category = '*'
        union all
        select 5, 'canton_year_category', personnes_supprime
        from year_cube where lieu = 'GE' and category <> '*'
        union all
        select 6, 'canton_quarter_theme', personnes_supprime
        from quarter_cube where lieu = 'GE' and theme <> '*'
    ),
    both_cubes as (
        select * from year_cube
        union all by name
        select * from quarter_cube
    ),
    every_number as (
        select
            7 as sort_order,
            'all_numbers' as crossing,
            sum(
                (personnes is not null or personnes_supprime)::int
                + (prestations is not null or prestations_supprime)::int
                + (nouvelles_personnes is not null or nouvelles_personnes_supprime)::int
                + (femmes is not null or femmes_supprime)::int
                + (hommes is not null or hommes_supprime)::int
                + (mineurs is not null or mineurs_supprime)::int
                + (seniors_65 is not null or seniors_65_supprime)::int
                + (demandes_non_satisfaites is not null or demandes_non_satisfaites_supprime)::int
                + (liste_attente is not null or liste_attente_supprime)::int
            ) as published,
            sum(
                personnes_supprime::int + prestations_supprime::int
                + nouvelles_personnes_supprime::int + femmes_supprime::int + hommes_supprime::int
                + mineurs_supprime::int + seniors_65_supprime::int
                + demandes_non_satisfaites_supprime::int + liste_attente_supprime::int
            ) as withheld
        from both_cubes
    ),
    shares as (
        select sort_order, crossing, count(*) as published, count(*) filter (withheld) as withheld
        from persons_by_crossing
        group by sort_order, crossing
        union all
        select sort_order, crossing, published, withheld from every_number
    )
select
    crossing,
    published::bigint as published,
    withheld::bigint as withheld,
    round(withheld / nullif(published, 0), 3) as withheld_share
from shares
order by sort_order
