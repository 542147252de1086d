-- name: admin_submission_tracker
-- grain: one row per member of the registry × expected period of the year, at the member's rhythm
--        (the granularity of its most recent submission; yearly for a member who never sent one)
-- parameters: $year, $late_days (grace after the end of a period before a missing submission is
--             late), $today (date of the check)
-- used by: dashboard/views/administration.py (submission tracker; RAW database, unsuppressed)
--
-- A period is received when a loaded submission covers it (the period itself or a coarser one, e.g.
-- the year for a quarter) or when finer ones fill it (four quarters make the year); partly received
-- when finer ones cover part of it. Loaded submissions passed validation (a rejected file loads
-- nothing), so received means valid; the last attempt's status tells whether a later file was refused.
with
    members as (select code, name, active_since from main.members),
    periods as (
        select code, granularity, start_date, end_date from main.periods where year = $year
    ),
    rhythms as (
        -- the granularity of the submission ending last (the latest loaded among equals)
        select s.member_code, arg_max(p.granularity, (p.end_date, s.loaded_at)) as granularity
        from main.submissions as s
        join main.periods as p on p.code = s.period_code
        group by s.member_code
    ),
    submissions as (
        select s.member_code, s.period_code, s.loaded_at, s.file_name, p.start_date, p.end_date
        from main.submissions as s
        join periods as p on p.code = s.period_code  -- this year's periods only
    ),
    last_attempts as (
        select member_code, period_code, status, started_at, file_name
        from main.load_runs
        where kind = 'soumission' and member_code is not null and period_code is not null
        qualify row_number() over (partition by member_code, period_code order by run_id desc) = 1
    ),
    activity as (
        select a.member_code, p.start_date, p.end_date, a.personnes
        from main.agg_member_period as a
        join periods as p on p.code = a.period_code  -- this year's periods only
    ),
    grid as (
        select m.code as member_code, m.name as member_name, coalesce(r.granularity, 'annee') as rhythm,
            p.code as period_code, p.start_date, p.end_date
        from members as m
        left join rhythms as r on r.member_code = m.code
        join periods as p on p.granularity = coalesce(r.granularity, 'annee')
        where m.active_since is null or m.active_since <= p.end_date
    ),
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
            and s.start_date <= g.end_date
            and s.end_date >= g.start_date
        group by g.member_code, g.period_code
    ),
    persons as (
        select g.member_code, g.period_code, cast(sum(a.personnes) as bigint) as personnes
        from grid as g
        join activity as a
            on a.member_code = g.member_code
            and a.start_date >= g.start_date
            and a.end_date <= g.end_date
        group by g.member_code, g.period_code
    ),
    statused as (
        select
            g.*,
            c.periods_loaded,
            c.files,
            c.last_loaded_at,
            r.status as last_attempt_status,
            r.started_at as last_attempt_at,
            p.personnes,
            datediff('day', g.end_date, $today::date) as days_since_end,
            case
                when c.n_covering > 0 then 'recu'
                when c.days_inside >= datediff('day', g.start_date, g.end_date) + 1 then 'recu'
                when c.days_inside > 0 then 'partiel'
                when r.status in ('rejete', 'erreur') then 'refuse'
                when $today::date <= g.end_date then 'en_cours'
                when datediff('day', g.end_date, $today::date) > $late_days then 'en_retard'
                else 'attendu'
            end as status
        from grid as g
        join coverage as c using (member_code, period_code)
        left join last_attempts as r using (member_code, period_code)
        left join persons as p using (member_code, period_code)
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
