-- 090_public: the shape of what may be published (DESIGN §6). Re-created at every publish.
-- These views read raw tables and are NOT suppressed here: etl/public.py materialises each view of
-- schema `public` into the separate public file (<base>_public.duckdb), applying disclosure control
-- to the activity cubes on the way (counts 1–4 NULL with `<count>_supprime`, complementary cells).
-- Public pages, downloads and exports read only that file; only the Administration page reads this one.
-- A new integer column here must be suppressed or reviewed (etl/public.py, tests/test_disclosure.py).
create schema if not exists public;

create or replace view public.communes as select ofs_number, name, area_km2 from main.communes;
create or replace view public.boundaries as select kind, ofs_number, name, geojson from main.boundaries;
create or replace view public.themes as select code, label_fr, label_en, sort_order from main.themes;
create or replace view public.periods as select * from main.periods;
create or replace view public.population as
    select ofs_number, year, definition, population, status from main.population where is_reference;
create or replace view public.indicator_definitions as select * from main.indicator_definitions;
create or replace view public.indicators as
    select ofs_number, year, indicator_code, value, unit, source, year_inferred from main.indicators;
create or replace view public.population_canton as select * from main.agg_population_canton;
-- The needs model's mapping, published with each release (etl/analysis/gaps.py uses it at publish).
create or replace view public.needs_mapping as
    select theme, indicator_code, weight, direction, rationale from main.needs_mapping;

-- Activity (DESIGN §4), summed to the year or quarter; one row per cell, see 050_aggregates.sql.
-- Pages read counts from these cubes only, so that suppression can be applied per published cell.
create or replace view public.activity_year_cube as select * from main.agg_activity_year_cube;
create or replace view public.activity_quarter_cube as select * from main.agg_activity_quarter_cube;

-- Members and what they sent (no file names, contacts or figures): completeness of a period.
create or replace view public.members as
    select code, name, categories, themes, active_since, is_demo from main.members;
create or replace view public.member_years as
    select member_code, year, granularity, n_periods, n_periods_expected, covered_until
    from main.agg_member_year;
create or replace view public.submissions as
    select s.member_code, s.period_code, p.granularity, p.year, p.quarter, p.month, s.loaded_at
    from main.submissions as s
    join main.periods as p on p.code = s.period_code;

-- Freshness and provenance of the whole database, one row.
create or replace view public.database_status as
    select
        (select max(coalesce(finished_at, started_at)) from main.load_runs
            where status in ('charge', 'remplace')) as last_load_at,
        (select count(*) from main.activity) as activity_rows,
        (select coalesce(bool_or(is_demo), false) from main.activity)
            or (select coalesce(bool_or(is_demo), false) from main.members) as has_demo,
        (select min(year) from main.activity) as first_year,
        (select max(year) from main.activity) as last_year,
        -- The latest year that has ended and holds activity (falls back to the latest year).
        coalesce(
            (select max(year) from main.activity where year < year(current_date)),
            (select max(year) from main.activity)
        ) as latest_complete_year;
