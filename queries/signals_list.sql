-- name: signals_list
-- grain: one row per assessed series × quarter of the public signals table: each commune all themes
--        together (theme '*', crossing Q1) and each theme in the canton (lieu 'GE', crossing Q2);
--        scope 'trimestre': every series of the latest quarters; 'terrain': an earlier quarter
--        assessed for a field observation. With the published count it was assessed on and the
--        field observations (public « vigilance » and « alerte ») of the same quarter, theme (any
--        theme for a commune's all-themes series) and place (anywhere in the canton for 'GE')
-- key: year, quarter, theme, lieu
-- parameters: $period (quarter number year × 4 + quarter − 1, null = every assessed quarter),
--             $themes (theme codes or '*', empty = all), $lieux (OFS numbers as text or 'GE', empty = all),
--             $statuses (status codes, empty = all)
-- used by: dashboard/components/signals.py, dashboard/bulletin_data.py, etl/analysis/feed.py
-- The count is the cube's published value: empty when withheld (the signal then has no number).
-- A quarter without a cube row is a zero. For the canton ('GE') every observation of the theme in
-- the canton counts (with or without a commune); for a commune, every observation made there.
with
    signals as (select * from public.signals),
    cube as (
        select year, quarter, theme, lieu, personnes, personnes_supprime, n_members
        from public.activity_quarter_cube
        where category = '*'
    ),
    themes as (select code, label_fr, label_en, sort_order from public.themes),
    communes as (select ofs_number, name from public.communes),
    field as (
        select
            year(obs_date) as year,
            quarter(obs_date) as quarter,
            theme,
            ofs_number,
            niveau
        from public.observations
        where niveau in ('vigilance', 'alerte')
    ),
    chosen as (
        select *
        from signals
        where ($period::integer is null or year * 4 + quarter - 1 = $period::integer)
            and (len($themes::varchar[]) = 0 or list_contains($themes::varchar[], theme))
            and (len($lieux::varchar[]) = 0 or list_contains($lieux::varchar[], lieu))
            and (len($statuses::varchar[]) = 0 or list_contains($statuses::varchar[], status))
    ),
    with_counts as (
        select
            s.*,
            c.personnes is null and c.theme is not null as withheld,
            case when c.theme is null then 0 else c.personnes end as observed,
            coalesce(c.n_members, 0) as n_members,
            case when p.theme is null then 0 else p.personnes end as observed_year_before,
            coalesce(p.n_members, 0) as n_members_year_before
        from chosen as s
        left join cube as c
            on c.year = s.year and c.quarter = s.quarter and c.theme = s.theme and c.lieu = s.lieu
        left join cube as p
            on p.year = s.year - 1 and p.quarter = s.quarter and p.theme = s.theme
            and p.lieu = s.lieu
    ),
    with_field as (
        select
            w.*,
            (select count(*) from field as f
             where f.year = w.year and f.quarter = w.quarter
                and (w.theme = '*' or f.theme = w.theme)
                and f.niveau = 'alerte' and (w.lieu = 'GE' or f.ofs_number = w.ofs_number))
                as n_field_alerts,
            (select count(*) from field as f
             where f.year = w.year and f.quarter = w.quarter
                and (w.theme = '*' or f.theme = w.theme)
                and f.niveau = 'vigilance' and (w.lieu = 'GE' or f.ofs_number = w.ofs_number))
                as n_field_vigilance
        from with_counts as w
    )
select
    w.year,
    w.quarter,
    w.year * 4 + w.quarter - 1 as period,
    w.theme,
    t.label_fr,
    t.label_en,
    t.sort_order,
    w.lieu,
    w.ofs_number,
    c.name as commune_name,
    w.scope,
    w.status,
    w.withheld,
    -- No number beside a withheld count, whatever the table holds.
    case when w.withheld then null else w.observed end as observed,
    case when w.withheld then null else w.expected end as expected,
    case when w.withheld then null else w.upper_limit end as upper_limit,
    case when w.withheld then null else w.score end as score,
    case when not w.withheld and w.expected > 0 then w.observed / w.expected end as ratio,
    w.observed_year_before,
    w.n_members,
    w.n_members_year_before,
    w.dispersion,
    w.trend,
    w.n_periods,
    w.n_field_alerts,
    w.n_field_vigilance
from with_field as w
left join themes as t on t.code = w.theme
left join communes as c on c.ofs_number = w.ofs_number
order by w.year desc, w.quarter desc, w.status = 'signal' desc, w.score desc nulls last,
    t.sort_order, w.lieu = 'GE' desc, c.name
