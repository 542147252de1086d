-- 060_needs: the services of each year, per member (DESIGN §5, coverage).
--
-- A member sends its services sheet with every submission; a member reporting quarterly would
-- repeat it four times a year. For each member × year only the services of its latest period are
-- kept, so that a service is counted once a year. Which communes each service serves, and whether
-- a commune has a service of its own or only canton-wide ones, is worked out at publish time
-- (etl/analysis/coverage.py) into the public table `service_coverage`. Services are a public
-- directory: no disclosure control applies here.
create schema if not exists public;
drop view if exists public.service_coverage;  -- databases published before the move to Python
drop table if exists main.agg_service_coverage;
create or replace view public.services_by_year as
with
    services as (
        select s.member_code, s.theme, s.ofs_number, s.communes_desservies, s.tout_le_canton,
            s.period_code, p.year, p.end_date
        from main.services as s
        join main.periods as p on p.code = s.period_code
    )
select year, member_code, theme, ofs_number, communes_desservies, tout_le_canton
from services
qualify end_date = max(end_date) over (partition by member_code, year);
