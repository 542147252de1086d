-- name: map_boundaries
-- grain: one row per shape: the 45 communes (kind 'commune') and the lake (kind 'lac')
-- key: kind, ofs_number
-- parameters: none
-- used by: dashboard/components/map.py (parsed once and cached)
with boundaries as (select kind, ofs_number, name, geojson from public.boundaries)
select kind, ofs_number, name, geojson
from boundaries
order by kind, ofs_number;
