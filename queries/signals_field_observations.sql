-- name: signals_field_observations
-- grain: one row per PUBLIC « vigilance » or « alerte » field observation dated in one quarter,
--        newest first (shown beside the signals of the same theme and place)
-- key: obs_date, member_code, theme, lieu, niveau, texte
-- parameters: $period (quarter number year × 4 + quarter − 1)
-- used by: dashboard/views/signaux.py, dashboard/bulletin_data.py
with
    observations as (select * from public.observations),
    members as (select code, name from public.members),
    communes as (select ofs_number, name from public.communes),
    themes as (select code, label_fr, label_en from public.themes),
    in_quarter as (
        select *
        from observations
        where niveau in ('vigilance', 'alerte')
            and year(obs_date) * 4 + quarter(obs_date) - 1 = $period::integer
    )
select
    o.obs_date,
    o.theme,
    t.label_fr as theme_label_fr,
    t.label_en as theme_label_en,
    o.niveau,
    o.lieu,
    o.ofs_number,
    c.name as commune_name,
    o.member_code,
    m.name as member_name,
    o.texte,
    o.is_demo
from in_quarter as o
left join themes as t on t.code = o.theme
left join communes as c on c.ofs_number = o.ofs_number
left join members as m on m.code = o.member_code
order by o.obs_date desc, o.member_code, o.texte
