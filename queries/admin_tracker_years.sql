-- name: admin_tracker_years
-- grain: one row per year the submission tracker can show, newest first
-- key: year
-- parameters: $today (date: years after it are not offered)
-- used by: dashboard/views/administration.py (submission tracker; RAW database)
with
    first_year as (
        select least(
            coalesce((select min(p.year) from main.submissions as s
                      join main.periods as p on p.code = s.period_code), year($today::date)),
            year($today::date)
        ) as year
    )
select distinct p.year
from main.periods as p, first_year as f
where p.year between f.year and year($today::date)
order by p.year desc
