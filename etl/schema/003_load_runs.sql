-- 003_load_runs: every load attempt, failed or not (provenance).
create sequence if not exists load_run_ids start 1;

create table if not exists load_runs (
    run_id       integer primary key default nextval('load_run_ids'),
    started_at   timestamp not null,
    finished_at  timestamp,
    username     varchar not null,
    kind         varchar not null,             -- 'reference', 'soumission', 'init', 'retrait'…
    file_name    varchar,
    sha256       varchar,
    member_code  varchar,
    period_code  varchar,
    rows_accepted bigint not null default 0,
    rows_rejected bigint not null default 0,
    status       varchar not null check (status in ('charge', 'remplace', 'rejete', 'deja_charge', 'erreur', 'retire')),
    message      varchar
);

create table if not exists schema_info (
    key          varchar primary key,
    value        varchar not null
);
