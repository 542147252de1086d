-- name: observations_date_range
-- grain: one row: first and last date of the PUBLIC observations, and how many there are
-- key: (one row)
-- parameters: none
-- used by: dashboard/views/remontees.py (bounds of the period filter)
select min(obs_date) as first_date, max(obs_date) as last_date, count(*) as n
from public.observations
