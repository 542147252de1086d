-- 095_public_directory: the members' directory and their public field observations (DESIGN §4, §6).
-- Runs after 090_public.sql (schema `public` exists); materialised into the public file by etl/public.py.

-- Qui fait quoi: the services of each member's most recent submission that lists services. The most
-- recent is the period ending last; between periods ending the same day (2024, 2024-T4, 2024-12)
-- the one loaded last. A member whose latest file has no services sheet keeps its previous list.
-- The directory is public information (contacts are the services' public contacts): no suppression.
create or replace view public.directory_services as
with
    services as (select * from main.services),
    submissions as (select member_code, period_code, loaded_at from main.submissions),
    periods as (select code, end_date from main.periods),
    member_periods as (
        select distinct s.member_code, s.period_code, p.end_date, sub.loaded_at
        from services as s
        join periods as p on p.code = s.period_code
        left join submissions as sub
            on sub.member_code = s.member_code and sub.period_code = s.period_code
    ),
    latest as (
        select member_code, period_code, loaded_at
        from member_periods
        qualify row_number() over (
            partition by member_code order by end_date desc, loaded_at desc nulls last, period_code
        ) = 1
    )
select
    s.member_code,
    s.period_code,
    s.service_no,
    s.nom,
    s.theme,
    s.type,
    s.lieu,
    s.ofs_number,
    s.communes_desservies,
    s.tout_le_canton,
    s.adresse,
    s.horaires,
    s.contact,
    s.conditions_acces,
    s.langues,
    s.capacite,
    s.is_demo,
    l.loaded_at
from services as s
join latest as l on l.member_code = s.member_code and l.period_code = s.period_code;

-- Remontées du terrain: only what members marked `public = oui`. Non-public observations stay in
-- the raw file, seen by the secretariat on the Administration page only.
create or replace view public.observations as
select member_code, period_code, obs_date, theme, lieu, ofs_number, niveau, texte, is_demo
from main.observations
where is_public;
