-- name: observations_latest_commune
-- grain: one row per PUBLIC observation about one commune, the $n most recent
-- key: obs_date, member_code, theme, niveau, texte
-- parameters: $ofs (OFS number of the commune), $n (how many)
-- used by: dashboard/components/observations.py (latest_observations, on the commune brief)
with
    observations as (select * from public.observations where ofs_number = $ofs),
    members as (select code, name from public.members),
    themes as (select code, label_fr, label_en from public.themes)
select
    o.obs_date,
    o.theme,
    t.label_fr as theme_label_fr,
    t.label_en as theme_label_en,
    o.niveau,
    o.member_code,
    m.name as member_name,
    o.texte
from observations as o
left join themes as t on t.code = o.theme
left join members as m on m.code = o.member_code
order by o.obs_date desc, o.member_code, o.texte
limit $n
