-- name: directory_members
-- grain: one row per member of the registry
-- key: code
-- parameters: none
-- used by: dashboard/views/qui_fait_quoi.py (organizations of the HSDS export)
select code, name, categories, themes
from public.members
order by code
