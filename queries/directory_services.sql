-- name: directory_services
-- grain: one row per service of the directory (services of each member's most recent submission
--        that lists services, see etl/schema/derived/095_public_directory.sql)
-- key: member_code, service_no
-- parameters: none (the page filters the small directory in Polars: dashboard/components/directory.py)
-- used by: dashboard/views/qui_fait_quoi.py (directory, HSDS export), dashboard/components/needs.py
--          (services serving a commune, for the brief)
with
    services as (select * from public.directory_services),
    members as (select code, name from public.members),
    communes as (select ofs_number, name from public.communes),
    themes as (select code, label_fr, label_en, sort_order from public.themes),
    named as (
        select
            s.*,
            m.name as member_name,
            c.name as commune_name,
            t.label_fr as theme_label_fr,
            t.label_en as theme_label_en,
            t.sort_order as theme_order
        from services as s
        left join members as m on m.code = s.member_code
        left join communes as c on c.ofs_number = s.ofs_number
        left join themes as t on t.code = s.theme
    )
select
    member_code,
    member_name,
    period_code,
    service_no,
    nom,
    theme,
    theme_label_fr,
    theme_label_en,
    type,
    lieu,
    ofs_number,
    commune_name,
    communes_desservies,
    tout_le_canton,
    adresse,
    horaires,
    contact,
    conditions_acces,
    langues,
    capacite,
    is_demo,
    loaded_at
from named
order by theme_order, nom collate nocase, member_code, service_no
