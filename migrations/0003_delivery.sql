-- walbox 0003: delivery state. Progress lives in cursor rows and a small table of parked entries,
-- never in UPDATEs of the hot log table.

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

-- Per target: 'applied', 'pending' or 'dead' (dead-lettered, blocking, or discarded by an operator: the
-- cursor has passed a discarded entry, but the target never applied it), for the audit view. A discarded
-- entry queued again by a replay shows 'pending' meanwhile, and 'dead' again afterwards: nothing records
-- that the replayed copy was applied.
create function {{schema}}.delivery_status(p_id bigint, p_namespace text, p_partition int, p_xid xid8,
                                           p_targets text[])
returns jsonb
language sql stable as $$
  select coalesce(jsonb_object_agg(t.target, case
           when exists (select 1 from {{schema}}.dead_letters d
                         where d.entry_id = p_id and d.target = t.target and d.status in ('dead', 'blocking'))
             then 'dead'
           when exists (select 1 from {{schema}}.parked p
                         where p.namespace = p_namespace and p.target = t.target
                           and p.partition = p_partition and p.entry_id = p_id)
             then 'pending'
           when exists (select 1 from {{schema}}.dead_letters d
                         where d.namespace = p_namespace and d.target = t.target and d.status = 'discarded'
                           and d.entry_id = p_id)
             then 'dead'
           when exists (select 1 from {{schema}}.cursors c
                         where c.namespace = p_namespace and c.target = t.target and c.partition = p_partition
                           and (pg_visible_in_snapshot(p_xid, c.prev_snapshot)
                                or (c.cur_snapshot is not null and pg_visible_in_snapshot(p_xid, c.cur_snapshot)
                                    and p_id <= c.after_id)))
             then 'applied'
           else 'pending' end), '{}'::jsonb)
    from unnest(p_targets) as t(target);
$$;

create or replace view {{schema}}.audit as
select e.id,
       e.created_at   as changed_at,
       e.actor,
       e.namespace,
       e.key,
       e.op,
       e.xid          as transaction_id,
       e.before,
       e.payload      as after,
       e.headers,
       e.targets,
       e.deliver_at,
       e.idempotency_key,
       {{schema}}.delivery_status(e.id, e.namespace, e.partition, e.xid, e.targets) as delivery
  from {{schema}}.entries e;

-- Records the outcome of one drain step atomically, fenced by the drain lease: if the caller no longer holds
-- the lease (it lapsed and another dispatcher took over), nothing is written and WB010 is raised. The sink
-- has applied the batch by then; the new holder re-delivers it, which idempotent sinks absorb.
-- p_step: {namespace, target, partition, owner, lease_ms, prev, cur, after_id, failures, retry_at, delivered,
--          unpark: [entry_id], park: [{key, entry_id, not_before, attempts, blocked, last_error,
--          first_failed_at}], dead: [{entry_id, key, status, attempts, last_error, first_failed_at}]}
create function {{schema}}.record_step(p_step json) returns void
language plpgsql as $$
declare
  v_ns text := p_step ->> 'namespace';
  v_target text := p_step ->> 'target';
  v_partition int := (p_step ->> 'partition')::int;
begin
  update {{schema}}.cursors c
     set prev_snapshot = (p_step ->> 'prev')::pg_snapshot,
         cur_snapshot  = (p_step ->> 'cur')::pg_snapshot,
         after_id      = (p_step ->> 'after_id')::bigint,
         failures      = (p_step ->> 'failures')::int,
         retry_at      = (p_step ->> 'retry_at')::timestamptz,
         delivered     = c.delivered + coalesce((p_step ->> 'delivered')::bigint, 0),
         lease_until   = clock_timestamp() + make_interval(secs => (p_step ->> 'lease_ms')::float8 / 1000),
         updated_at    = clock_timestamp()
   where c.namespace = v_ns and c.target = v_target and c.partition = v_partition
     and c.lease_owner = p_step ->> 'owner' and c.lease_until > clock_timestamp();
  if not found then
    raise exception 'walbox: drain lease of %/%/% lost', v_ns, v_target, v_partition using errcode = 'WB010';
  end if;

  delete from {{schema}}.parked p
   where p.namespace = v_ns and p.target = v_target and p.partition = v_partition
     and p.entry_id in (select value::bigint from json_array_elements_text(p_step -> 'unpark'));

  insert into {{schema}}.parked as p
    (namespace, target, partition, key, entry_id, not_before, attempts, blocked, last_error, first_failed_at)
  select v_ns, v_target, v_partition, x.key, x.entry_id, x.not_before, coalesce(x.attempts, 0),
         coalesce(x.blocked, false), x.last_error, x.first_failed_at
    from json_to_recordset(p_step -> 'park') as x(key text, entry_id bigint, not_before timestamptz,
                                                 attempts int, blocked boolean, last_error text,
                                                 first_failed_at timestamptz)
  on conflict (namespace, target, partition, entry_id) do update
     set not_before = excluded.not_before, attempts = excluded.attempts, blocked = excluded.blocked,
         last_error = excluded.last_error, first_failed_at = coalesce(p.first_failed_at, excluded.first_failed_at);

  insert into {{schema}}.dead_letters
    (entry_id, namespace, target, partition, key, entry, status, attempts, last_error, first_failed_at)
  select x.entry_id, v_ns, v_target, v_partition, x.key, to_jsonb(e), x.status, x.attempts, x.last_error,
         x.first_failed_at
    from json_to_recordset(p_step -> 'dead') as x(entry_id bigint, key text, status text, attempts int,
                                                 last_error text, first_failed_at timestamptz)
    join {{schema}}.entries e on e.id = x.entry_id
  on conflict (entry_id, target) where status in ('dead', 'blocking') do update
     set attempts = excluded.attempts, last_error = excluded.last_error, last_failed_at = now();

  -- A dead-lettered entry ('dead') leaves the parked table; a blocking one stays as its key's blocked head.
  delete from {{schema}}.parked p
   where p.namespace = v_ns and p.target = v_target and p.partition = v_partition
     and p.entry_id in (select x.entry_id from json_to_recordset(p_step -> 'dead') as x(entry_id bigint, status text)
                         where x.status = 'dead');
end;
$$;
