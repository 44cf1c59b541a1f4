-- walbox 0001: the control plane (namespaces) and the append-only log.
-- {{schema}} is replaced by the validated, double-quoted schema name before this file runs.
-- Functions and views live in sql/ (one file each, applied after the migrations on every migrate); the day
-- partitions of the log are created there too, by ensure_partitions(), once it exists (see docs/sql.md).

create table {{schema}}.namespaces (
  name              text primary key check (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  ordering          text not null default 'key' check (ordering in ('key', 'namespace')),
  partitions        int not null default 1 check (partitions between 1 and 1024),
  targets           text[] not null default '{}',
  retry             jsonb not null,
  on_exhausted      text not null default 'dead-letter' check (on_exhausted in ('dead-letter', 'block')),
  max_payload_bytes int not null default 1048576 check (max_payload_bytes > 0),
  retention_hours   int not null default 168 check (retention_hours > 0),
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now()
);

create sequence {{schema}}.entries_id_seq as bigint;

-- Partitioned by day so that retention drops whole partitions instead of deleting rows (no bloat).
-- The default partition only catches rows whose day partition does not exist yet.
create table {{schema}}.entries (
  id              bigint not null default nextval('{{schema}}.entries_id_seq'),
  namespace       text not null,
  key             text not null,
  partition       int not null,
  op              text not null,
  payload         jsonb,
  before          jsonb,
  headers         jsonb not null default '{}',
  targets         text[] not null,
  deliver_at      timestamptz,
  idempotency_key text,
  -- The writer's transaction id: readers select by snapshot visibility of this, not by id ranges.
  xid             xid8 not null default pg_current_xact_id(),
  created_at      timestamptz not null default now(),
  actor           text,
  primary key (id, created_at)
) partition by range (created_at);

alter sequence {{schema}}.entries_id_seq owned by {{schema}}.entries.id;

create table {{schema}}.entries_default partition of {{schema}}.entries default;

-- Readers: one range scan per (namespace, partition) over transaction ids.
create index entries_reader_idx on {{schema}}.entries (namespace, partition, xid);
-- Audit: the history of one key.
create index entries_key_idx on {{schema}}.entries (namespace, key, id);

-- Idempotency keys live beside the log: a unique index on the partitioned log would have to include
-- created_at and could not enforce uniqueness across days.
create table {{schema}}.idempotency_keys (
  namespace       text not null,
  idempotency_key text not null,
  entry_id        bigint not null,
  created_at      timestamptz not null default now(),
  primary key (namespace, idempotency_key)
);

-- One element of an append, parsed once from the JSON input.
create type {{schema}}.append_input as (
  ord int, namespace text, key text, op text, payload json, before json, headers json, targets text[],
  delay_ms bigint, jitter_ms bigint, deliver_at timestamptz, idempotency_key text, actor text
);
