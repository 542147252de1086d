-- 070_admin: what the Administration page's submission tracker reads (RAW database, never published).
--
-- For every member of the registry and every period of every year at the member's rhythm (the
-- granularity of its most recent submission; yearly for a member who never sent one): what was
-- loaded that covers or falls inside it, and the persons it reported. Built at every publish, so the
-- tracker (queries/admin_submission_tracker.sql) only adds the day's statuses; at 30 times the demo
-- volume computing this per request took 100-160 ms.
-- Every row is one member's: rebuilt for the members in temp.refresh_members (all of them, or those
-- a load touched: etl/incremental.py), deleted and inserted; a full rebuild drops the table first.
create or replace temp table new_tracker_periods as
with
    rhythms as (
        -- the granularity of the submission ending last (the latest loaded among equals)
        select s.member_code, arg_max(p.granularity, (p.end_date, s.loaded_at)) as granularity
        from main.submissions as s
        join main.periods as p on p.code = s.period_code
        where s.member_code in (select member_code from temp.refresh_members)
        group by s.member_code
    ),
    submissions as (
        select s.member_code, s.period_code, s.loaded_at, s.file_name, p.year, p.start_date,
            p.end_date
        from main.submissions as s
        join main.periods as p on p.code = s.period_code
    ),
    activity as (
        select a.member_code, p.year, p.start_date, p.end_date, a.personnes
        from main.agg_member_period as a
        join main.periods as p on p.code = a.period_code
    ),
    grid as (
        select m.code as member_code, m.name as member_name, coalesce(r.granularity, 'annee') as rhythm,
            p.code as period_code, p.year, p.start_date, p.end_date
        from main.members as m
        left join rhythms as r on r.member_code = m.code
        join main.periods as p on p.granularity = coalesce(r.granularity, 'annee')
        where (m.active_since is null or m.active_since <= p.end_date)
            and m.code in (select member_code from temp.refresh_members)
    ),
    -- Periods never cross a year: only the same year's submissions and activity can meet a period.
    coverage as (
        select
            g.member_code,
            g.period_code,
            count(s.period_code) filter (
                where s.start_date <= g.start_date and s.end_date >= g.end_date
            ) as n_covering,
            coalesce(sum(datediff('day', s.start_date, s.end_date) + 1) filter (
                where s.start_date >= g.start_date and s.end_date <= g.end_date
                    and not (s.start_date = g.start_date and s.end_date = g.end_date)
            ), 0) as days_inside,
            max(s.loaded_at) as last_loaded_at,
            -- codes sort in time order (no two granularities in one member's year)
            array_to_string(list_sort(list(s.period_code)), ', ') as periods_loaded,
            nullif(array_to_string(list_distinct(list(s.file_name)), ', '), '') as files
        from grid as g
        left join submissions as s
            on s.member_code = g.member_code
            and s.year = g.year
            and s.start_date <= g.end_date
            and s.end_date >= g.start_date
        group by g.member_code, g.period_code
    ),
    persons as (
        select g.member_code, g.period_code, cast(sum(a.personnes) as bigint) as personnes
        from grid as g
        join activity as a
            on a.member_code = g.member_code
            and a.year = g.year
            and a.start_date >= g.start_date
            and a.end_date <= g.end_date
        group by g.member_code, g.period_code
    )
select
    g.member_code,
    g.member_name,
    g.rhythm,
    g.period_code,
    g.year,
    g.start_date,
    g.end_date,
    c.n_covering,
    c.days_inside,
    c.periods_loaded,
    c.files,
    c.last_loaded_at,
    p.personnes
from grid as g
join coverage as c using (member_code, period_code)
left join persons as p using (member_code, period_code);

create table if not exists agg_tracker_periods as select * from temp.new_tracker_periods limit 0;
delete from agg_tracker_periods where member_code in (select member_code from temp.refresh_members);
insert into agg_tracker_periods select * from temp.new_tracker_periods;
drop table temp.new_tracker_periods;
