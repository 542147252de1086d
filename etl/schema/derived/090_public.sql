-- 090_public: the only schema public pages may read (DESIGN §6). Re-created at every publish.
-- Disclosure control (suppression of counts 1–4) is applied here; see the disclosure issue.
create schema if not exists public;

create or replace view public.communes as select ofs_number, name, area_km2 from main.communes;
create or replace view public.boundaries as select kind, ofs_number, name, geojson from main.boundaries;
create or replace view public.themes as select code, label_fr, label_en, sort_order from main.themes;
create or replace view public.periods as select * from main.periods;
create or replace view public.population as
    select ofs_number, year, definition, population, status from main.population where is_reference;
create or replace view public.indicator_definitions as select * from main.indicator_definitions;
create or replace view public.indicators as
    select ofs_number, year, indicator_code, value, unit, source, year_inferred from main.indicators;
