-- name: ref_communes
-- grain: one row per commune of the canton (45)
-- key: ofs_number
-- parameters: none
-- used by: dashboard/data.py (communes: every page filtering by commune), etl/exports/selection.py
select ofs_number, name
from public.communes
order by name collate nocase
