-- name: export_indicator_definitions
-- grain: one row per needs indicator that can be joined to a commune extraction
-- key: code
-- parameters: none
-- used by: etl/exports/selection.py (load_options; the Données page's variable labels come through it)
select code, label_fr, label_en, unit_fr, unit_en, source
from public.indicator_definitions
order by code
