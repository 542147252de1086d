-- name: signals_quarters
-- grain: one row per quarter whose every series was assessed (scope 'trimestre': the latest
--        published quarters), newest first, with how many series were assessed and raised a signal
-- key: year, quarter
-- parameters: none
-- used by: dashboard/components/signals.py, dashboard/bulletin_data.py
with
    signals as (select year, quarter, status from public.signals where scope = 'trimestre')
select
    year,
    quarter,
    year * 4 + quarter - 1 as period,
    count(*) filter (where status in ('signal', 'attendu')) as n_assessed,
    count(*) filter (where status = 'signal') as n_signals,
    count(*) as n_series
from signals
group by year, quarter
order by year desc, quarter desc
