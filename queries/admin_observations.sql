-- name: admin_observations
-- grain: one row per field observation, PUBLIC OR NOT, the $limit most recent
-- key: member_code, period_code, obs_date, theme, lieu, niveau, texte
-- parameters: $limit (how many rows)
-- used by: dashboard/views/administration.py (RAW database, secretariat only)
select
    o.obs_date,
    o.member_code,
    m.name as member_name,
    o.period_code,
    o.theme,
    o.niveau,
    o.lieu,
    o.ofs_number,
    coalesce(c.name, o.lieu) as commune_name,
    o.is_public,
    o.texte
from main.observations as o
left join main.members as m on m.code = o.member_code
left join main.communes as c on c.ofs_number = o.ofs_number
order by o.obs_date desc, o.member_code
limit $limit
