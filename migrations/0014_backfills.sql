-- walbox 0014: backfills. A table captured after it already held rows can have its existing rows appended in
-- chunks (backfill_chunk); this records how far each backfill got, so that it resumes after a crash and its
-- progress is visible.
create table {{schema}}.backfills (
  table_name text not null,
  namespace text not null,
  key_column text not null,
  last_key text,
  rows_done bigint not null default 0,
  rows_total bigint,
  started_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  primary key (table_name, namespace)
);
comment on table {{schema}}.backfills is
  'walbox: progress of each backfill of a captured table (captureTable with backfill, walbox capture --backfill)';
