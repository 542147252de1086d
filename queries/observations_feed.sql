-- name: observations_feed
-- grain: one row per PUBLIC field observation matching the filters, newest first
-- key: obs_date, member_code, theme, lieu, niveau, texte
-- parameters: $themes (theme codes, empty = all), $communes (OFS numbers, empty = all, including
--             observations without a commune), $levels (niveaux, empty = all), $date_from and
--             $date_to (dates, null = open), $words (normalised words that must all appear in the
--             text, empty = no text search; normalised like etl.text.normalise_key)
-- used by: dashboard/views/remontees.py, dashboard/components/answers.py (latest alerts)
with
    observations as (select * from public.observations),
    members as (select code, name from public.members),
    communes as (select ofs_number, name from public.communes),
    themes as (select code, label_fr, label_en from public.themes),
    searchable as (
        select
            o.*,
            regexp_replace(strip_accents(lower(o.texte)), '[\s\-_''’`.]+', ' ', 'g') as search_text
        from observations as o
    ),
    filtered as (
        select *
        from searchable
        where (len($themes::varchar[]) = 0 or list_contains($themes::varchar[], theme))
          and (len($communes::integer[]) = 0 or list_contains($communes::integer[], ofs_number))
          and (len($levels::varchar[]) = 0 or list_contains($levels::varchar[], niveau))
          and ($date_from::date is null or obs_date >= $date_from::date)
          and ($date_to::date is null or obs_date <= $date_to::date)
          and coalesce(
              list_bool_and(list_transform($words::varchar[], lambda w: contains(search_text, w))),
              true
          )
    )
select
    f.obs_date,
    f.theme,
    t.label_fr as theme_label_fr,
    t.label_en as theme_label_en,
    f.niveau,
    f.lieu,
    f.ofs_number,
    c.name as commune_name,
    f.member_code,
    m.name as member_name,
    f.texte,
    f.is_demo
from filtered as f
left join themes as t on t.code = f.theme
left join communes as c on c.ofs_number = f.ofs_number
left join members as m on m.code = f.member_code
order by f.obs_date desc, f.member_code, f.texte
