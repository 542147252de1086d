-- name: admin_submission_tracker
-- grain: one row per member of the registry × expected period of the year, at the member's rhythm
--        (the granularity of its most recent submission; yearly for a member who never sent one)
-- key: member_code, period_code
-- parameters: $year, $late_days (grace after the end of a period before a missing submission is
--             late), $today (date of the check)
-- used by: dashboard/views/administration.py (submission tracker; RAW database, unsuppressed)
--
-- A period is received when a loaded submission covers it (the period itself or a coarser one, e.g.
-- the year for a quarter) or when finer ones fill it (four quarters make the year); partly received
-- when finer ones cover part of it. Loaded submissions passed validation (a rejected file loads
-- nothing), so received means valid; the last attempt's status tells whether a later file was refused.
-- What was loaded per member and period is prepared at every publish (etl/schema/derived/070_admin.sql);
-- this query adds the statuses of the day.
with
    tracker as (select * from main.agg_tracker_periods where year = $year),
    last_attempts as (
        select member_code, period_code, status, started_at, file_name
        from main.load_runs
        where kind = 'soumission' and member_code is not null and period_code is not null
        qualify row_number() over (partition by member_code, period_code order by run_id desc) = 1
    ),
    statused as (
        select
            t.member_code,
            t.member_name,
            t.rhythm,
            t.period_code,
            t.start_date,
            t.end_date,
            t.periods_loaded,
            t.files,
            t.last_loaded_at,
            r.status as last_attempt_status,
            r.started_at as last_attempt_at,
            t.personnes,
            datediff('day', t.end_date, $today::date) as days_since_end,
            case
                when t.n_covering > 0 then 'recu'
                when t.days_inside >= datediff('day', t.start_date, t.end_date) + 1 then 'recu'
                when t.days_inside > 0 then 'partiel'
                when r.status in ('rejete', 'erreur') then 'refuse'
                when $today::date <= t.end_date then 'en_cours'
                when datediff('day', t.end_date, $today::date) > $late_days then 'en_retard'
                else 'attendu'
            end as status
        from tracker as t
        left join last_attempts as r using (member_code, period_code)
    )
select
    member_code,
    member_name,
    rhythm,
    period_code,
    start_date,
    end_date,
    status,
    periods_loaded,
    files,
    last_loaded_at,
    last_attempt_status,
    last_attempt_at,
    personnes,
    days_since_end
from statused
order by member_name collate nocase, member_code, start_date
