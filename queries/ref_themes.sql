-- name: ref_themes
-- grain: one row per theme of the taxonomy (DESIGN §4)
-- key: code
-- parameters: none
-- used by: dashboard/data.py (themes: every page filtering by theme), etl/exports/selection.py, dashboard/bulletin_data.py
select code, label_fr, label_en, sort_order
from public.themes
order by sort_order
