-- 050_aggregates: activity summed to the year and the quarter, built once per publish.
--
-- A member may report a year as one annual period, four quarters or twelve months. For each
-- member × year the coarsest granularity it sent is kept (annee > trimestre > mois) so that nothing is
-- counted twice. Flows (personnes, prestations, demandes…) are summed over the sub-periods: persons
-- seen in several quarters are then counted once per quarter, an upper bound that the methodology
-- page states. `liste_attente` is a stock: its value is the one of the last sub-period reported.
--
-- The cubes add "all" levels as explicit sentinels so that every figure a page shows is one row,
-- never a sum of (possibly suppressed) public cells:
--   theme    '*' = all themes
--   lieu     '*' = every place (the 45 communes, hors canton, non renseignée)
--            'GE' = the 45 communes of the canton (the base of rates per 1,000 residents)
--   category '*' = every member; otherwise one member category (a member with two categories counts
--            in both, so categories do not add up to '*').

-- Which granularity counts for each member × year, how many sub-periods it sent, and its last one.
create or replace table agg_member_year as
with
    submitted as (
        select s.member_code, p.year, p.granularity, p.code as period_code, p.end_date
        from main.submissions as s
        join main.periods as p on p.code = s.period_code
    ),
    ranked as (
        select
            *,
            min(case granularity when 'annee' then 1 when 'trimestre' then 2 else 3 end)
                over (partition by member_code, year) as best_rank,
            case granularity when 'annee' then 1 when 'trimestre' then 2 else 3 end as rank
        from submitted
    )
select
    member_code,
    year,
    any_value(granularity) as granularity,
    count(distinct period_code) as n_periods,
    case any_value(granularity) when 'annee' then 1 when 'trimestre' then 4 else 12 end
        as n_periods_expected,
    arg_max(period_code, end_date) as last_period_code,
    max(end_date) as covered_until
from ranked
where rank = best_rank
group by member_code, year;

-- One row per year × member × theme × place: annual sums of the kept sub-periods.
create or replace table agg_activity_year as
with
    kept as (
        select a.*, m.granularity, m.n_periods, m.n_periods_expected, m.last_period_code
        from main.activity as a
        join main.periods as p on p.code = a.period_code
        join agg_member_year as m
            on m.member_code = a.member_code and m.year = a.year and m.granularity = p.granularity
    )
select
    year,
    member_code,
    theme,
    lieu,
    any_value(ofs_number) as ofs_number,
    cast(sum(personnes) as bigint) as personnes,
    cast(sum(prestations) as bigint) as prestations,
    cast(sum(nouvelles_personnes) as bigint) as nouvelles_personnes,
    cast(sum(femmes) as bigint) as femmes,
    cast(sum(hommes) as bigint) as hommes,
    cast(sum(mineurs) as bigint) as mineurs,
    cast(sum(seniors_65) as bigint) as seniors_65,
    cast(sum(demandes_non_satisfaites) as bigint) as demandes_non_satisfaites,
    -- A stock: the value at the end of the last sub-period the member reported that year.
    cast(sum(liste_attente) filter (where period_code = last_period_code) as bigint) as liste_attente,
    any_value(granularity) as granularity,
    any_value(n_periods) as n_periods,
    any_value(n_periods_expected) as n_periods_expected,
    bool_or(is_demo) as is_demo
from kept
group by year, member_code, theme, lieu;

-- One row per quarter × member × theme × place, from quarterly and monthly submissions only
-- (an annual figure cannot be split into quarters).
create or replace table agg_activity_quarter as
with
    sub_annual as (
        select
            a.*,
            p.granularity,
            p.quarter as period_quarter,
            p.month,
            p.end_date,
            coalesce(p.quarter, cast(ceil(p.month / 3.0) as integer)) as quarter
        from main.activity as a
        join main.periods as p on p.code = a.period_code
        join agg_member_year as m
            on m.member_code = a.member_code and m.year = a.year and m.granularity = p.granularity
        where p.granularity in ('trimestre', 'mois')
    ),
    last_in_quarter as (
        select member_code, year, quarter, max(end_date) as last_end
        from sub_annual
        group by member_code, year, quarter
    )
select
    s.year,
    s.quarter,
    s.member_code,
    s.theme,
    s.lieu,
    any_value(s.ofs_number) as ofs_number,
    cast(sum(s.personnes) as bigint) as personnes,
    cast(sum(s.prestations) as bigint) as prestations,
    cast(sum(s.nouvelles_personnes) as bigint) as nouvelles_personnes,
    cast(sum(s.femmes) as bigint) as femmes,
    cast(sum(s.hommes) as bigint) as hommes,
    cast(sum(s.mineurs) as bigint) as mineurs,
    cast(sum(s.seniors_65) as bigint) as seniors_65,
    cast(sum(s.demandes_non_satisfaites) as bigint) as demandes_non_satisfaites,
    cast(sum(s.liste_attente) filter (where s.end_date = l.last_end) as bigint) as liste_attente,
    bool_or(s.is_demo) as is_demo
from sub_annual as s
join last_in_quarter as l using (member_code, year, quarter)
group by s.year, s.quarter, s.member_code, s.theme, s.lieu;

-- Cube by year: year × theme × lieu × category, with the '*' / 'GE' levels described above.
create or replace table agg_activity_year_cube as
with
    expanded as (
        select a.*, t.theme_level, l.lieu_level, c.category_level
        from agg_activity_year as a
        join main.members as m on m.code = a.member_code
        cross join unnest([a.theme, '*']) as t(theme_level)
        cross join unnest(
            case when a.ofs_number is not null then [a.lieu, 'GE', '*'] else [a.lieu, '*'] end
        ) as l(lieu_level)
        cross join unnest(list_prepend('*', m.categories)) as c(category_level)
    )
select
    year,
    theme_level as theme,
    lieu_level as lieu,
    case when lieu_level not in ('*', 'GE') then any_value(ofs_number) end as ofs_number,
    category_level as category,
    cast(sum(personnes) as bigint) as personnes,
    cast(sum(prestations) as bigint) as prestations,
    cast(sum(nouvelles_personnes) as bigint) as nouvelles_personnes,
    cast(sum(femmes) as bigint) as femmes,
    cast(sum(hommes) as bigint) as hommes,
    cast(sum(mineurs) as bigint) as mineurs,
    cast(sum(seniors_65) as bigint) as seniors_65,
    cast(sum(demandes_non_satisfaites) as bigint) as demandes_non_satisfaites,
    cast(sum(liste_attente) as bigint) as liste_attente,
    count(distinct member_code) as n_members,
    count(distinct ofs_number) filter (where personnes > 0) as n_communes,
    -- Members whose year is made of fewer sub-periods than a full year (e.g. 3 quarters of 4).
    count(distinct member_code) filter (where n_periods < n_periods_expected) as n_members_partial,
    bool_or(is_demo) as is_demo
from expanded
group by year, theme_level, lieu_level, category_level;

-- Cube by quarter, same levels, sub-annual submissions only.
create or replace table agg_activity_quarter_cube as
with
    expanded as (
        select a.*, t.theme_level, l.lieu_level, c.category_level
        from agg_activity_quarter as a
        join main.members as m on m.code = a.member_code
        cross join unnest([a.theme, '*']) as t(theme_level)
        cross join unnest(
            case when a.ofs_number is not null then [a.lieu, 'GE', '*'] else [a.lieu, '*'] end
        ) as l(lieu_level)
        cross join unnest(list_prepend('*', m.categories)) as c(category_level)
    )
select
    year,
    quarter,
    theme_level as theme,
    lieu_level as lieu,
    case when lieu_level not in ('*', 'GE') then any_value(ofs_number) end as ofs_number,
    category_level as category,
    cast(sum(personnes) as bigint) as personnes,
    cast(sum(prestations) as bigint) as prestations,
    cast(sum(nouvelles_personnes) as bigint) as nouvelles_personnes,
    cast(sum(femmes) as bigint) as femmes,
    cast(sum(hommes) as bigint) as hommes,
    cast(sum(mineurs) as bigint) as mineurs,
    cast(sum(seniors_65) as bigint) as seniors_65,
    cast(sum(demandes_non_satisfaites) as bigint) as demandes_non_satisfaites,
    cast(sum(liste_attente) as bigint) as liste_attente,
    count(distinct member_code) as n_members,
    count(distinct ofs_number) filter (where personnes > 0) as n_communes,
    bool_or(is_demo) as is_demo
from expanded
group by year, quarter, theme_level, lieu_level, category_level;

-- Population of the canton (the 45 communes) per year on the reference series, flagged when any
-- commune's value is interpolated or carried forward.
create or replace table agg_population_canton as
select
    year,
    string_agg(distinct definition, ',' order by definition) as definition,
    cast(sum(population) as bigint) as population,
    count(*) as n_communes,
    count(*) filter (where status <> 'publie') as n_estimated,
    case when bool_and(status = 'publie') then 'publie' else 'estime' end as status
from main.population
where is_reference
group by year;
