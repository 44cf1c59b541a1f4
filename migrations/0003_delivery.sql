-- walbox 0003: delivery state. Progress lives in cursor rows and a small table of parked entries,
-- never in UPDATEs of the hot log table. Its functions (delivery_status, record_step) and the audit view's
-- delivery column live in sql/.

-- One cursor per (namespace, target, partition): a PgQ-style snapshot position plus a lease.
create table {{schema}}.cursors (
  namespace     text not null,
  target        text not null,
  partition     int not null,
  prev_snapshot pg_snapshot not null default '1:1:',
  cur_snapshot  pg_snapshot,
  after_id      bigint,
  -- Consecutive failed attempts of the whole batch (the target was down), and when to try again.
  failures      int not null default 0,
  retry_at      timestamptz,
  -- Exclusive drain lease, kept alive by the holder's heartbeat; a dead holder's lease simply lapses.
  lease_owner   text,
  lease_until   timestamptz,
  delivered     bigint not null default 0,
  updated_at    timestamptz not null default now(),
  primary key (namespace, target, partition)
);

-- Entries held back for one (namespace, target, key): delayed until deliver_at, backing off after a
-- failure, blocked after retries ran out (onExhausted 'block'), or waiting behind an earlier one of the same
-- key. The head of a key (lowest entry_id) goes first; the rest follow in id order.
create table {{schema}}.parked (
  namespace   text not null,
  target      text not null,
  partition   int not null,
  key         text not null,
  entry_id    bigint not null,
  not_before  timestamptz,
  attempts    int not null default 0,
  blocked     boolean not null default false,
  last_error  text,
  first_failed_at timestamptz,
  parked_at   timestamptz not null default now(),
  primary key (namespace, target, partition, entry_id)
);
create index parked_key_idx on {{schema}}.parked (namespace, target, partition, key, entry_id);

-- Entries whose retries ran out. A copy of the entry is kept, so retention never loses a dead letter.
create table {{schema}}.dead_letters (
  id              bigint generated always as identity primary key,
  entry_id        bigint not null,
  namespace       text not null,
  target          text not null,
  partition       int not null,
  key             text not null,
  entry           jsonb not null,
  -- 'dead': skipped, the key moved on; 'blocking': its key waits for an operator;
  -- 'redriven' / 'discarded': an operator acted.
  status          text not null check (status in ('dead', 'blocking', 'redriven', 'discarded')),
  attempts        int not null,
  last_error      text,
  first_failed_at timestamptz,
  last_failed_at  timestamptz not null default now(),
  resolved_at     timestamptz
);
create index dead_letters_lookup_idx on {{schema}}.dead_letters (namespace, target, status, entry_id);
create unique index dead_letters_open_idx on {{schema}}.dead_letters (entry_id, target)
  where status in ('dead', 'blocking');
