-- 002_submissions: members and what they send (DESIGN §4). Written only by etl/.
create table if not exists members (
    code         varchar primary key,          -- short stable code, e.g. 'DEMO-ALIM-01'
    name         varchar not null,
    categories   varchar[] not null,           -- e.g. ['association', 'fondation']
    themes       varchar[] not null,           -- theme codes the member works on
    active_since date,
    is_demo      boolean not null default false
);

-- One row per member × period × theme × place. `lieu` is the OFS number as text, 'hors_canton'
-- or 'non_renseignee'; `ofs_number` is set only for the 45 communes.
create table if not exists activity (
    load_id      integer not null,
    member_code  varchar not null,
    period_code  varchar not null,
    year         integer not null,
    theme        varchar not null,
    lieu         varchar not null,
    ofs_number   integer,
    personnes    integer not null,
    prestations  integer,
    nouvelles_personnes integer,
    femmes       integer,
    hommes       integer,
    mineurs      integer,
    seniors_65   integer,
    demandes_non_satisfaites integer,
    liste_attente integer,
    is_demo      boolean not null
);

create table if not exists services (
    load_id      integer not null,
    member_code  varchar not null,
    period_code  varchar not null,
    service_no   integer not null,             -- row order within the submission
    nom          varchar not null,
    theme        varchar not null,
    type         varchar,
    lieu         varchar not null,
    ofs_number   integer,
    communes_desservies integer[],             -- OFS numbers served
    tout_le_canton boolean not null,
    adresse      varchar,
    horaires     varchar,
    contact      varchar,
    conditions_acces varchar,
    langues      varchar[],
    capacite     integer,
    is_demo      boolean not null
);

create table if not exists observations (
    load_id      integer not null,
    member_code  varchar not null,
    period_code  varchar not null,
    obs_date     date not null,
    theme        varchar not null,
    lieu         varchar,
    ofs_number   integer,
    niveau       varchar not null check (niveau in ('information', 'vigilance', 'alerte')),
    texte        varchar not null,
    is_public    boolean not null,
    is_demo      boolean not null
);

-- The slice currently loaded for each member × period, and the file it came from.
create table if not exists submissions (
    member_code  varchar not null,
    period_code  varchar not null,
    load_id      integer not null,
    sha256       varchar not null,
    file_name    varchar not null,
    contact      varchar,
    date_envoi   date,
    loaded_at    timestamp not null,
    primary key (member_code, period_code)
);
