-- 060_needs: services present in or serving each commune, per year and theme (DESIGN §5, coverage).
--
-- A member sends its services sheet with every submission; a member reporting quarterly would
-- repeat it four times a year. For each member × year only the services of its latest period are
-- kept, so that a service is counted once a year. A service is *located* in the commune of its
-- address and *serves* that commune, those listed in `communes_desservies`, or all 45 when it
-- serves the whole canton. Services are a public directory: no disclosure control applies here.
create or replace table agg_service_coverage as
with
    services as (
        select s.*, p.year, p.end_date
        from main.services as s
        join main.periods as p on p.code = s.period_code
    ),
    latest_per_member_year as (
        select *
        from services
        qualify end_date = max(end_date) over (partition by member_code, year)
    ),
    service_commune as (
        select
            s.year,
            s.theme,
            c.ofs_number,
            s.member_code,
            coalesce(s.ofs_number = c.ofs_number, false) as located_here,
            coalesce(s.ofs_number = c.ofs_number, false)
                or s.tout_le_canton
                or coalesce(list_contains(s.communes_desservies, c.ofs_number), false) as serves_here
        from latest_per_member_year as s
        cross join main.communes as c
    )
select
    year,
    theme,
    ofs_number,
    count(*) filter (where located_here) as services_located,
    count(*) as services_serving,
    count(distinct member_code) as members_serving
from service_commune
where serves_here
group by year, theme, ofs_number;

create schema if not exists public;
create or replace view public.service_coverage as select * from main.agg_service_coverage;
