-- walbox 0001: the control plane (namespaces) and the append-only log.
-- {{schema}} is replaced by the validated, double-quoted schema name before this file runs.

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

-- Creates the day partitions from today up to p_days_ahead days ahead. A day whose rows already landed in
-- the default partition is skipped (attaching it would fail); those rows stay readable there.
create function {{schema}}.ensure_partitions(p_days_ahead int default 7) returns int
language plpgsql as $$
declare
  v_day date;
  v_name text;
  v_created int := 0;
begin
  for v_day in select generate_series(current_date, current_date + p_days_ahead, interval '1 day')::date loop
    v_name := 'entries_p' || to_char(v_day, 'YYYYMMDD');
    continue when to_regclass(format('%I.%I', '{{schema_raw}}', v_name)) is not null;
    continue when exists (
      select 1 from {{schema}}.entries_default
      where created_at >= v_day and created_at < v_day + 1
    );
    execute format(
      'create table %I.%I partition of %I.entries for values from (%L) to (%L)',
      '{{schema_raw}}', v_name, '{{schema_raw}}', v_day::timestamptz, (v_day + 1)::timestamptz
    );
    v_created := v_created + 1;
  end loop;
  return v_created;
end;
$$;

select {{schema}}.ensure_partitions(7);

-- The partition of a key: keys spread over a namespace's partitions by hash; one total order means one.
create function {{schema}}.partition_of(p_key text, p_partitions int, p_ordering text) returns int
language sql immutable parallel safe as $$
  select case when p_partitions = 1 or p_ordering = 'namespace' then 0 else abs(hashtext(p_key) % p_partitions) end
$$;

-- Wakes dispatchers once per appending statement (not per entry). The payload lists "namespace:partition"
-- items (or bare namespaces, meaning all their partitions, when the list would not fit NOTIFY's 8000
-- bytes). Sessions that must not pay NOTIFY's commit-time lock (or that run behind PgBouncer in
-- transaction mode) set walbox.notify = 'off'; dispatchers then find the work by polling.
create function {{schema}}.notify_append(p_items text[]) returns void
language plpgsql as $$
declare
  v_payload text := array_to_string(p_items, ',');
begin
  if coalesce(current_setting('walbox.notify', true), '') <> 'off' then
    if octet_length(v_payload) > 7900 then
      select string_agg(distinct split_part(i, ':', 1), ',') into v_payload from unnest(p_items) i;
    end if;
    perform pg_notify('walbox_' || '{{schema_raw}}', v_payload);
  end if;
end;
$$;

-- One element of an append, parsed once from the JSON input.
create type {{schema}}.append_input as (
  ord int, namespace text, key text, op text, payload json, before json, headers json, targets text[],
  delay_ms bigint, jitter_ms bigint, deliver_at timestamptz, idempotency_key text, actor text
);

-- Appends a JSON array of entries in one statement. Each element:
--   {"namespace","key","op","payload","before","headers","targets","delay_ms","jitter_ms","deliver_at",
--    "idempotency_key","actor"}
-- Returns one row per element, in input order (ord is 1-based). An element whose idempotency key already
-- exists in its namespace returns the existing entry instead of a new one (duplicate = true).
create function {{schema}}.append_json(p_entries json)
returns table (
  ord int, id bigint, namespace text, key text, partition int, op text, payload jsonb, before jsonb,
  headers jsonb, targets text[], deliver_at timestamptz, idempotency_key text, xid xid8,
  created_at timestamptz, actor text, duplicate boolean
)
language plpgsql as $$
#variable_conflict use_column
declare
  v_in {{schema}}.append_input[];
  v_n int;
  v_bad record;
  v_ids bigint[];
  v_whole text[];
  v_keyed text[];
  v_returned int;
  v_class int := hashtext('walbox:' || '{{schema_raw}}');
  v_actor text := coalesce(nullif(current_setting('walbox.actor', true), ''), session_user);
begin
  -- Parse the input once; every step below reads the array.
  select array_agg(row(i.ord::int, i.namespace, i.key, i.op, i.payload, i.before, i.headers, i.targets,
                       i.delay_ms, i.jitter_ms, i.deliver_at, i.idempotency_key, i.actor
                      )::{{schema}}.append_input order by i.ord)
    into v_in
    from rows from (json_to_recordset(p_entries) as (
           namespace text, key text, op text, payload json, before json, headers json, targets text[],
           delay_ms bigint, jitter_ms bigint, deliver_at timestamptz, idempotency_key text, actor text
         )) with ordinality as i(namespace, key, op, payload, before, headers, targets, delay_ms,
                                 jitter_ms, deliver_at, idempotency_key, actor, ord);
  v_n := coalesce(cardinality(v_in), 0);
  if v_n = 0 then
    return;
  end if;

  -- Backstop checks for SQL callers; the SDK has already rejected these before sending anything.
  select x.namespace, x.key, x.op, n.name as known, octet_length(x.payload::text) as size,
         n.max_payload_bytes, x.delay_ms, x.jitter_ms,
         (select t from unnest(x.targets) t where not (t = any(n.targets)) limit 1) as stray_target
    into v_bad
    from unnest(v_in) x
    left join {{schema}}.namespaces n on n.name = x.namespace
   where n.name is null or x.key is null or x.key = '' or x.op is null or x.op = ''
      or octet_length(x.payload::text) > n.max_payload_bytes
      or x.delay_ms < 0 or x.jitter_ms < 0
      or not (coalesce(x.targets, '{}') <@ n.targets)
   limit 1;
  if found then
    if v_bad.known is null then
      raise exception 'walbox: unknown namespace "%"', v_bad.namespace using errcode = 'WB001';
    elsif v_bad.key is null or v_bad.key = '' then
      raise exception 'walbox: entry of namespace "%" has no key', v_bad.namespace using errcode = 'WB003';
    elsif v_bad.op is null or v_bad.op = '' then
      raise exception 'walbox: entry of namespace "%" has no op', v_bad.namespace using errcode = 'WB003';
    elsif v_bad.delay_ms < 0 or v_bad.jitter_ms < 0 then
      raise exception 'walbox: negative delay' using errcode = 'WB004';
    elsif v_bad.stray_target is not null then
      raise exception 'walbox: target "%" is not a target of namespace "%"', v_bad.stray_target,
        v_bad.namespace using errcode = 'WB003';
    else
      raise exception 'walbox: payload of % bytes exceeds the limit of % bytes of namespace "%"',
        v_bad.size, v_bad.max_payload_bytes, v_bad.namespace using errcode = 'WB002';
    end if;
  end if;

  -- Per-key commit order: a second writer of the same (namespace, key) waits until the first commits, so
  -- for one key, id order is commit order. A writer of a few keys holds its namespace's lock shared plus a
  -- lock per key; a writer of many keys (or of a namespace with one total order) holds the namespace lock
  -- exclusively instead, so a batch of 100,000 keys does not fill the shared lock table. Locks are taken in
  -- a fixed order (namespaces, then keys, each sorted) to avoid deadlocks between batches. The two-int form
  -- keeps clear of pg-boss's bigint advisory locks.
  select coalesce(array_agg(s.namespace) filter (where s.whole), '{}'),
         coalesce(array_agg(s.namespace) filter (where not s.whole), '{}')
    into v_whole, v_keyed
    from (select x.namespace, bool_or(n.ordering = 'namespace') or count(distinct x.key) > 64 as whole
            from unnest(v_in) x join {{schema}}.namespaces n on n.name = x.namespace
           group by x.namespace) s;
  perform case when l.whole then pg_advisory_xact_lock(v_class, l.h)
               else pg_advisory_xact_lock_shared(v_class, l.h) end
     from (select hashtext(ns) as h, ns = any(v_whole) as whole
             from unnest(v_whole || v_keyed) as ns
            order by 1, 2 desc) l;
  perform pg_advisory_xact_lock(v_class, k.h)
     from (select distinct hashtext(x.namespace || chr(31) || x.key) as h
             from unnest(v_in) x
            where x.namespace = any(v_keyed)
            order by 1) k;

  -- Ids are drawn only after the locks are held.
  select array_agg(nextval('{{schema}}.entries_id_seq')) into v_ids from generate_series(1, v_n);

  return query
  with input as (
    select x.*, v_ids[x.ord] as new_id from unnest(v_in) x
  ),
  claimed as (
    insert into {{schema}}.idempotency_keys (namespace, idempotency_key, entry_id)
    select namespace, idempotency_key, new_id from input where idempotency_key is not null
    on conflict do nothing
    returning entry_id
  ),
  inserted as (
    insert into {{schema}}.entries
      (id, namespace, key, partition, op, payload, before, headers, targets, deliver_at, idempotency_key, actor)
    select i.new_id, i.namespace, i.key,
           {{schema}}.partition_of(i.key, n.partitions, n.ordering),
           i.op, i.payload::jsonb, i.before::jsonb, coalesce(i.headers::jsonb, '{}'::jsonb),
           coalesce(i.targets, n.targets),
           case
             when i.deliver_at is not null then i.deliver_at
             when coalesce(i.delay_ms, 0) + coalesce(i.jitter_ms, 0) > 0 then
               clock_timestamp() + make_interval(secs => (coalesce(i.delay_ms, 0)
                 + floor(random() * (coalesce(i.jitter_ms, 0) + 1))) / 1000.0)
           end,
           i.idempotency_key, coalesce(i.actor, v_actor)
      from input i
      join {{schema}}.namespaces n on n.name = i.namespace
     where i.idempotency_key is null or i.new_id in (select entry_id from claimed)
    returning *
  )
  select i.ord, e.id, e.namespace, e.key, e.partition, e.op, e.payload, e.before, e.headers, e.targets,
         e.deliver_at, e.idempotency_key, e.xid, e.created_at, e.actor, false
    from inserted e join input i on i.new_id = e.id
   order by i.ord;
  get diagnostics v_returned = row_count;

  perform {{schema}}.notify_append(array(
    select distinct x.namespace || ':' || {{schema}}.partition_of(x.key, n.partitions, n.ordering)
      from unnest(v_in) x join {{schema}}.namespaces n on n.name = x.namespace));

  -- Entries whose idempotency key was already taken (earlier, or earlier in this batch): return the
  -- existing entry. A separate statement, so it sees rows committed while the insert waited on the key.
  if v_returned < v_n then
    return query
    select x.ord, e.id, e.namespace, e.key, e.partition, e.op, e.payload, e.before, e.headers,
           e.targets, e.deliver_at, e.idempotency_key, e.xid, e.created_at, e.actor, true
      from unnest(v_in) x
      join {{schema}}.idempotency_keys k
        on k.namespace = x.namespace and k.idempotency_key = x.idempotency_key
      join {{schema}}.entries e on e.id = k.entry_id
     where k.entry_id <> v_ids[x.ord]
     order by x.ord;
  end if;
end;
$$;

-- The friendly form for plain SQL, other languages and triggers.
create function {{schema}}.append(
  p_namespace text, p_key text, p_op text, p_payload jsonb,
  p_before jsonb default null, p_headers jsonb default null, p_targets text[] default null,
  p_delay interval default null, p_deliver_at timestamptz default null,
  p_idempotency_key text default null, p_actor text default null
) returns bigint
language sql as $$
  select id from {{schema}}.append_json(json_build_array(json_build_object(
    'namespace', p_namespace, 'key', p_key, 'op', p_op, 'payload', p_payload, 'before', p_before,
    'headers', p_headers, 'targets', p_targets,
    'delay_ms', (extract(epoch from p_delay) * 1000)::bigint,
    'deliver_at', p_deliver_at, 'idempotency_key', p_idempotency_key, 'actor', p_actor)));
$$;
