-- name: needs_dispersion_all
-- grain: one row per comparison ('besoins' or 'canton') × theme (theme '*' = all themes) × year:
--        the overdispersion τ² of the funnel limits, for every theme and year at once
-- key: comparison, theme, year
-- parameters: none
-- used by: dashboard/components/needs.py (the commune brief: where an estimated population could
--          change a theme's or a year's flag, the « * » mark)
select comparison, theme, year, tau2
from public.comparison_dispersion
order by comparison, theme, year
