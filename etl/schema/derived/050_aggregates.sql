-- 050_aggregates: activity summed to the year and the quarter, rebuilt at every publish for the years
-- in temp.refresh_years (every year, or only those a load touched: etl/incremental.py; etl/db.py
-- fills it). Every table below is keyed by year (a period never crosses one): the years to rebuild
-- are computed into a temporary table, then deleted and inserted; a full rebuild drops the tables
-- first (etl/db.py, so that they take the shape written here).
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

-- The periods of the years rebuilt: every scan of the activity below is filtered on them first
-- (a semi-join DuckDB applies in the scan: one year of 30× in 10 ms, where joining every row to
-- the kept periods took 0.7 s).
create or replace temp table refresh_periods as
select code as period_code from main.periods where year in (select year from temp.refresh_years);

-- Which granularity counts for each member × year, how many sub-periods it sent, and its last one.
create or replace temp table new_member_year as
with
    submitted as (
        select s.member_code, p.year, p.granularity, p.code as period_code, p.end_date
        from main.submissions as s
        join main.periods as p on p.code = s.period_code
        where p.year in (select year from temp.refresh_years)
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

create table if not exists agg_member_year as select * from temp.new_member_year limit 0;
delete from agg_member_year where year in (select year from temp.refresh_years);
insert into agg_member_year select * from temp.new_member_year;
drop table temp.new_member_year;

-- The member-level sums below are only steps towards the cubes: temporary tables (kept in memory for
-- this publish, not written to the file: at 30 times the demo volume writing them cost 2 s).
-- Databases published before they became temporary still hold them: dropped.
drop table if exists main.agg_activity_quarter;
drop table if exists main.agg_activity_year;

-- One row per quarter × member × theme × place, from quarterly and monthly submissions only
-- (an annual figure cannot be split into quarters).
create or replace temp table agg_activity_quarter as
with
    -- The kept sub-annual periods of each member, from its submissions (a few thousand rows, where
    -- the activity has millions): which quarter each falls in and whether it ends the quarter.
    kept_periods as (
        select
            s.member_code,
            p.code as period_code,
            p.year,
            p.end_date,
            coalesce(p.quarter, cast(ceil(p.month / 3.0) as integer)) as quarter
        from main.submissions as s
        join main.periods as p on p.code = s.period_code
        join agg_member_year as m
            on m.member_code = s.member_code and m.year = p.year and m.granularity = p.granularity
        where p.granularity in ('trimestre', 'mois') and p.year in (select year from temp.refresh_years)
    ),
    kept as (
        select
            member_code,
            period_code,
            year,
            quarter,
            end_date = max(end_date) over (partition by member_code, year, quarter) as ends_quarter
        from kept_periods
    )
select
    k.year,
    k.quarter,
    a.member_code,
    a.theme,
    a.lieu,
    any_value(a.ofs_number) as ofs_number,
    cast(sum(a.personnes) as bigint) as personnes,
    cast(sum(a.prestations) as bigint) as prestations,
    cast(sum(a.nouvelles_personnes) as bigint) as nouvelles_personnes,
    cast(sum(a.femmes) as bigint) as femmes,
    cast(sum(a.hommes) as bigint) as hommes,
    cast(sum(a.mineurs) as bigint) as mineurs,
    cast(sum(a.seniors_65) as bigint) as seniors_65,
    cast(sum(a.demandes_non_satisfaites) as bigint) as demandes_non_satisfaites,
    -- A stock: the value at the end of the last sub-period the member reported in the quarter.
    cast(sum(a.liste_attente) filter (where k.ends_quarter) as bigint) as liste_attente,
    bool_or(a.is_demo) as is_demo
from main.activity as a
join kept as k on k.member_code = a.member_code and k.period_code = a.period_code
where a.period_code in (select period_code from temp.refresh_periods)
group by k.year, k.quarter, a.member_code, a.theme, a.lieu;

-- One row per year × member × theme × place. Members reporting by quarter or month: their quarters
-- summed (3 times fewer rows than the months); members reporting by year: their annual rows.
create or replace temp table agg_activity_year as
with
    members_years as (
        select
            m.member_code,
            m.year,
            m.granularity,
            m.n_periods,
            m.n_periods_expected,
            m.last_period_code,
            coalesce(p.quarter, cast(ceil(p.month / 3.0) as integer)) as last_quarter
        from agg_member_year as m
        join main.periods as p on p.code = m.last_period_code
        where m.year in (select year from temp.refresh_years)
    ),
    -- The rows to sum: a sub-annual member's quarters (the stock kept only in the quarter holding
    -- its last period of the year, which ends on that period), an annual member's annual rows.
    parts as (
        select
            q.year, q.member_code, q.theme, q.lieu, q.ofs_number, q.personnes, q.prestations,
            q.nouvelles_personnes, q.femmes, q.hommes, q.mineurs, q.seniors_65,
            q.demandes_non_satisfaites,
            case when q.quarter = m.last_quarter then q.liste_attente end as liste_attente,
            q.is_demo
        from temp.agg_activity_quarter as q
        join members_years as m using (member_code, year)
        union all
        select
            a.year, a.member_code, a.theme, a.lieu, a.ofs_number, a.personnes, a.prestations,
            a.nouvelles_personnes, a.femmes, a.hommes, a.mineurs, a.seniors_65,
            a.demandes_non_satisfaites, a.liste_attente, a.is_demo
        from main.activity as a
        join members_years as m
            on m.member_code = a.member_code and m.last_period_code = a.period_code
        where m.granularity = 'annee'
            and a.period_code in (select period_code from temp.refresh_periods)
    )
select
    b.year,
    b.member_code,
    b.theme,
    b.lieu,
    any_value(b.ofs_number) as ofs_number,
    cast(sum(b.personnes) as bigint) as personnes,
    cast(sum(b.prestations) as bigint) as prestations,
    cast(sum(b.nouvelles_personnes) as bigint) as nouvelles_personnes,
    cast(sum(b.femmes) as bigint) as femmes,
    cast(sum(b.hommes) as bigint) as hommes,
    cast(sum(b.mineurs) as bigint) as mineurs,
    cast(sum(b.seniors_65) as bigint) as seniors_65,
    cast(sum(b.demandes_non_satisfaites) as bigint) as demandes_non_satisfaites,
    cast(sum(b.liste_attente) as bigint) as liste_attente,
    any_value(m.granularity) as granularity,
    any_value(m.n_periods) as n_periods,
    any_value(m.n_periods_expected) as n_periods_expected,
    bool_or(b.is_demo) as is_demo
from parts as b
join members_years as m using (member_code, year)
group by b.year, b.member_code, b.theme, b.lieu;

-- Persons per member and period as loaded: the submission tracker of the Administration page reads
-- this instead of every activity row (10 million at 30 times the demo volume).
create or replace temp table new_member_period as
select member_code, period_code, cast(sum(personnes) as bigint) as personnes
from main.activity
where period_code in (select period_code from temp.refresh_periods)
group by member_code, period_code;
create table if not exists agg_member_period as select * from temp.new_member_period limit 0;
delete from agg_member_period where period_code in (select period_code from temp.refresh_periods);
insert into agg_member_period select * from temp.new_member_period;
drop table temp.new_member_period;

-- The cubes are built in steps, for speed (a publish re-creates them every time; at 30 times the
-- demo volume the first versions took 10 and 40 s of CPU):
--   1. member_cells: one row per member × cell of the theme and place levels, each level summed
--      from the smallest one it can be ('GE' gathers the rows of the 45 communes), so that a member
--      counts once in a cell without count(distinct …);
--   2. category_sets: those rows summed per cell and set of member categories, n_members = count(*);
--   3. cells: each set added to '*' and to each of its categories.
-- The tables are the same as expanding every row into its levels with count(distinct …).

-- Members grouped by their set of categories: a cube counts and sums each set's members once, then
-- adds the set to '*' and to each of its categories (a member with two categories counts in both).
create or replace table agg_member_category_set as
select
    code as member_code,
    list_sort(categories) as categories,
    dense_rank() over (order by list_sort(categories)) as category_set
from main.members;

create or replace table agg_category_set as
with sets as (select distinct category_set, categories from agg_member_category_set)
select category_set, '*' as category from sets
union all
select category_set, unnest(categories) as category from sets;

-- The activity cube, built once for both period kinds: period_kind × year × quarter × theme × lieu ×
-- category, with the '*' / 'GE' levels described above. A year is period_kind 'annee' with quarter 0
-- (as etl/disclosure/cube.py numbers it); a quarter is 'trimestre', from sub-annual submissions
-- only. The period (year, quarter) is a key of every step below, so the two kinds never mix. A
-- temporary table: the raw file keeps the two published shapes, materialised from it further down.
create or replace temp table agg_activity_cube as
with
    -- A member's own rows are its cells of one theme and one place: its years, then its quarters.
    by_theme_place as not materialized (
        select
            year,
            0 as quarter,
            member_code,
            theme,
            lieu,
            ofs_number,
            personnes,
            prestations,
            nouvelles_personnes,
            femmes,
            hommes,
            mineurs,
            seniors_65,
            demandes_non_satisfaites,
            liste_attente,
            coalesce(personnes > 0, false) as has_persons,
            -- Partial: fewer sub-periods than the year has (counted for years only).
            n_periods < n_periods_expected as is_partial,
            is_demo
        from temp.agg_activity_year
        union all
        select
            year,
            quarter,
            member_code,
            theme,
            lieu,
            ofs_number,
            personnes,
            prestations,
            nouvelles_personnes,
            femmes,
            hommes,
            mineurs,
            seniors_65,
            demandes_non_satisfaites,
            liste_attente,
            coalesce(personnes > 0, false) as has_persons,
            false as is_partial,
            is_demo
        from temp.agg_activity_quarter
    ),
    -- All its themes in one place.
    by_place as (
        select
            year,
            quarter,
            member_code,
            '*' as theme,
            lieu,
            any_value(ofs_number) as ofs_number,
            sum(personnes) as personnes,
            sum(prestations) as prestations,
            sum(nouvelles_personnes) as nouvelles_personnes,
            sum(femmes) as femmes,
            sum(hommes) as hommes,
            sum(mineurs) as mineurs,
            sum(seniors_65) as seniors_65,
            sum(demandes_non_satisfaites) as demandes_non_satisfaites,
            sum(liste_attente) as liste_attente,
            bool_or(has_persons) as has_persons,
            bool_or(is_partial) as is_partial,
            bool_or(is_demo) as is_demo
        from by_theme_place
        group by year, quarter, member_code, lieu
    ),
    -- One theme: its rows in the 45 communes ('GE') and everywhere ('*').
    theme_parts as (
        select
            year,
            quarter,
            member_code,
            theme,
            ofs_number is not null as in_communes,
            sum(personnes) as personnes,
            sum(prestations) as prestations,
            sum(nouvelles_personnes) as nouvelles_personnes,
            sum(femmes) as femmes,
            sum(hommes) as hommes,
            sum(mineurs) as mineurs,
            sum(seniors_65) as seniors_65,
            sum(demandes_non_satisfaites) as demandes_non_satisfaites,
            sum(liste_attente) as liste_attente,
            bool_or(has_persons) as has_persons,
            bool_or(is_partial) as is_partial,
            bool_or(is_demo) as is_demo
        from by_theme_place
        group by year, quarter, member_code, theme, in_communes
    ),
    by_theme as (
        select
            year,
            quarter,
            member_code,
            theme,
            case when grouping(in_communes) = 0 then 'GE' else '*' end as lieu,
            cast(null as integer) as ofs_number,
            sum(personnes) as personnes,
            sum(prestations) as prestations,
            sum(nouvelles_personnes) as nouvelles_personnes,
            sum(femmes) as femmes,
            sum(hommes) as hommes,
            sum(mineurs) as mineurs,
            sum(seniors_65) as seniors_65,
            sum(demandes_non_satisfaites) as demandes_non_satisfaites,
            sum(liste_attente) as liste_attente,
            bool_or(has_persons) as has_persons,
            bool_or(is_partial) as is_partial,
            bool_or(is_demo) as is_demo
        from theme_parts
        group by grouping sets (
            (year, quarter, member_code, theme, in_communes), (year, quarter, member_code, theme)
        )
        having grouping(in_communes) = 1 or in_communes
    ),
    -- All its themes, in the 45 communes and everywhere.
    by_member as (
        select
            year,
            quarter,
            member_code,
            '*' as theme,
            lieu,
            cast(null as integer) as ofs_number,
            sum(personnes) as personnes,
            sum(prestations) as prestations,
            sum(nouvelles_personnes) as nouvelles_personnes,
            sum(femmes) as femmes,
            sum(hommes) as hommes,
            sum(mineurs) as mineurs,
            sum(seniors_65) as seniors_65,
            sum(demandes_non_satisfaites) as demandes_non_satisfaites,
            sum(liste_attente) as liste_attente,
            bool_or(has_persons) as has_persons,
            bool_or(is_partial) as is_partial,
            bool_or(is_demo) as is_demo
        from by_theme
        group by year, quarter, member_code, lieu
    ),
    member_cells as (
        select * from by_theme_place
        union all by name
        select * from by_place
        union all by name
        select * from by_theme
        union all by name
        select * from by_member
    ),
    -- Members counted and summed per cell and set of categories…
    category_sets as (
        select
            year,
            quarter,
            theme,
            lieu,
            any_value(ofs_number) as ofs_number,
            s.category_set,
            sum(personnes) as personnes,
            sum(prestations) as prestations,
            sum(nouvelles_personnes) as nouvelles_personnes,
            sum(femmes) as femmes,
            sum(hommes) as hommes,
            sum(mineurs) as mineurs,
            sum(seniors_65) as seniors_65,
            sum(demandes_non_satisfaites) as demandes_non_satisfaites,
            sum(liste_attente) as liste_attente,
            count(*) as n_members,
            count(*) filter (where is_partial) as n_members_partial,
            bool_or(has_persons) as has_persons,
            bool_or(is_demo) as is_demo
        from member_cells
        join agg_member_category_set as s using (member_code)
        group by year, quarter, theme, lieu, s.category_set
    ),
    -- …then each set added to '*' and to each of its categories.
    cells as (
        select
            year,
            quarter,
            theme,
            lieu,
            any_value(ofs_number) as ofs_number,
            k.category,
            cast(sum(personnes) as bigint) as personnes,
            cast(sum(prestations) as bigint) as prestations,
            cast(sum(nouvelles_personnes) as bigint) as nouvelles_personnes,
            cast(sum(femmes) as bigint) as femmes,
            cast(sum(hommes) as bigint) as hommes,
            cast(sum(mineurs) as bigint) as mineurs,
            cast(sum(seniors_65) as bigint) as seniors_65,
            cast(sum(demandes_non_satisfaites) as bigint) as demandes_non_satisfaites,
            cast(sum(liste_attente) as bigint) as liste_attente,
            cast(sum(n_members) as bigint) as n_members,
            cast(sum(n_members_partial) as bigint) as n_members_partial,
            bool_or(has_persons) as has_persons,
            bool_or(is_demo) as is_demo
        from category_sets
        join agg_category_set as k using (category_set)
        group by year, quarter, theme, lieu, k.category
    ),
    communes_reached as (
        select year, quarter, theme, category, count(*) filter (where has_persons) as n_communes
        from cells
        where ofs_number is not null
        group by year, quarter, theme, category
    )
select
    case when c.quarter = 0 then 'annee' else 'trimestre' end as period_kind,
    c.year,
    c.quarter,
    c.theme,
    c.lieu,
    c.ofs_number,
    c.category,
    c.personnes,
    c.prestations,
    c.nouvelles_personnes,
    c.femmes,
    c.hommes,
    c.mineurs,
    c.seniors_65,
    c.demandes_non_satisfaites,
    c.liste_attente,
    c.n_members,
    -- A commune's cell: 1 if someone was served there; 'GE' and '*': how many communes' cells of
    -- the same period, theme and category have someone.
    case
        when c.ofs_number is not null then cast(c.has_persons as bigint)
        when c.lieu in ('GE', '*') then coalesce(r.n_communes, 0)
        else 0
    end as n_communes,
    c.n_members_partial,
    c.is_demo
from cells as c
left join communes_reached as r
    on r.year = c.year and r.quarter = c.quarter and r.theme = c.theme
    and r.category = c.category and c.lieu in ('GE', '*');

-- The two shapes published (etl/schema/derived/090_public.sql; their columns, in this order, are a
-- contract with researchers: docs/DONNEES.md, tests/test_activity_cubes.py): by year, with the
-- members whose year is partial, and by quarter.
create table if not exists agg_activity_year_cube as
select * exclude (period_kind, quarter) from temp.agg_activity_cube limit 0;
delete from agg_activity_year_cube where year in (select year from temp.refresh_years);
insert into agg_activity_year_cube
select * exclude (period_kind, quarter) from temp.agg_activity_cube where period_kind = 'annee';

create table if not exists agg_activity_quarter_cube as
select * exclude (period_kind, n_members_partial) from temp.agg_activity_cube limit 0;
delete from agg_activity_quarter_cube where year in (select year from temp.refresh_years);
insert into agg_activity_quarter_cube
select * exclude (period_kind, n_members_partial)
from temp.agg_activity_cube
where period_kind = 'trimestre';

-- The member-level steps are no longer needed: their memory goes back before the public file is built.
drop table temp.agg_activity_cube;
drop table temp.agg_activity_quarter;
drop table temp.agg_activity_year;

drop table temp.refresh_periods;

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
