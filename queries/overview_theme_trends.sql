-- name: overview_theme_trends
-- grain: one row per theme × year with activity (persons served in the whole canton and beyond)
-- key: theme, year
-- parameters: none
-- used by: dashboard/views/overview.py (small trend lines by theme), dashboard/views/trends.py
--          (default themes), dashboard/components/answers.py (what changed)
with
    themes as (select code, label_fr, label_en, sort_order from public.themes),
    theme_cells as (
        select year, theme, personnes, personnes_supprime, demandes_non_satisfaites,
            demandes_non_satisfaites_supprime, n_members
        from public.activity_year_cube
        where theme <> '*' and lieu = '*' and category = '*'
    )
select
    c.theme,
    t.label_fr,
    t.label_en,
    t.sort_order,
    c.year,
    c.personnes,
    c.personnes_supprime,
    c.demandes_non_satisfaites,
    c.demandes_non_satisfaites_supprime,
    c.n_members
from theme_cells as c
join themes as t on t.code = c.theme
order by t.sort_order, c.year
