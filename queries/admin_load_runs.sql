-- name: admin_load_runs
-- grain: one row per load attempt (load_runs), the $limit most recent
-- key: run_id
-- parameters: $limit (how many rows)
-- used by: dashboard/views/administration.py (load history; RAW database, secretariat only)
select
    run_id,
    started_at,
    finished_at,
    username,
    kind,
    file_name,
    member_code,
    period_code,
    rows_accepted,
    rows_rejected,
    status,
    message,
    sha256
from main.load_runs
order by run_id desc
limit $limit
