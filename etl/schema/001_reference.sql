-- 001_reference: communes, themes, periods, population and needs indicators (real public data).
create table if not exists communes (
    ofs_number   integer primary key,          -- FSO commune number, 6601–6645
    name         varchar not null,             -- usual French spelling
    area_km2     double,                       -- FSO total area
    area_km2_frwiki double
);

create table if not exists commune_aliases (
    alias        varchar not null,             -- a spelling seen in real files
    alias_key    varchar primary key,          -- etl.text.normalise_key(alias)
    ofs_number   integer not null
);

create table if not exists boundaries (
    kind         varchar not null check (kind in ('commune', 'lac')),
    ofs_number   integer,                      -- null for the lake
    name         varchar not null,
    geojson      varchar not null              -- GeoJSON geometry, EPSG:4326
);

create table if not exists themes (
    code         varchar primary key,
    label_fr     varchar not null,
    label_en     varchar not null,
    sort_order   integer not null
);

create table if not exists periods (
    code         varchar primary key,          -- '2024', '2024-T1', '2024-03'
    granularity  varchar not null check (granularity in ('annee', 'trimestre', 'mois')),
    year         integer not null,
    quarter      integer,
    month        integer,
    start_date   date not null,
    end_date     date not null
);

-- Published values of each definition, as compiled (data/reference/population_published.csv).
create table if not exists population_published (
    ofs_number   integer not null,
    year         integer not null,
    definition   varchar not null check (definition in ('ocstat', 'ofs_statpop')),
    population   bigint not null,
    definition_text varchar,
    source       varchar,
    source_url   varchar,
    note         varchar
);

-- Every commune × year × definition, filled: status publie / interpole / reporte.
create table if not exists population (
    ofs_number   integer not null,
    year         integer not null,
    definition   varchar not null check (definition in ('ocstat', 'ofs_statpop')),
    population   bigint not null,
    status       varchar not null check (status in ('publie', 'interpole', 'reporte')),
    is_reference boolean not null,              -- the value used for rates that year
    primary key (ofs_number, year, definition)
);

create table if not exists indicator_definitions (
    code         varchar primary key,
    label_fr     varchar not null,
    label_en     varchar not null,
    unit_fr      varchar not null,
    unit_en      varchar not null,
    polarity     varchar not null check (polarity in ('haut_defavorable', 'haut_favorable', 'neutre')),
    source       varchar not null
);

create table if not exists indicators (
    ofs_number   integer not null,
    year         integer not null,
    indicator_code varchar not null,
    value        double not null,
    unit         varchar,
    source       varchar,
    source_url   varchar,
    note         varchar,
    year_inferred boolean not null
);

create table if not exists canton_totals (
    geo          varchar,
    year         integer,
    indicator_code varchar,
    value        double,
    unit         varchar,
    source       varchar,
    source_url   varchar,
    note         varchar
);

-- The needs model's mapping (data/needs_mapping.csv, DESIGN §5): which indicators measure the need for
-- each theme, with a weight and a direction. Reference data, versioned with each publish.
create table if not exists needs_mapping (
    theme          varchar not null,
    indicator_code varchar not null,
    weight         double not null check (weight > 0),
    direction      tinyint not null check (direction in (-1, 1)),
    rationale      varchar,
    primary key (theme, indicator_code)
);
