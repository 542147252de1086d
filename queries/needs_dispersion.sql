-- name: needs_dispersion
-- grain: one row per comparison ('besoins': against the needs-adjusted expectation, 'canton': against
--        the canton's rate) for one theme and year: communes used, overdispersion φ and τ², canton rate
-- key: comparison
-- parameters: $theme (theme code or '*'), $year (integer)
-- used by: dashboard/components/needs.py (the funnel plot's limits, the page's method note)
select comparison, n_communes, phi, tau2, canton_rate
from public.comparison_dispersion
where theme = $theme and year = $year
order by comparison
