-- Appends a JSON array of entries in one statement. Each element:
--   {"namespace","key","partition_key","op","payload","before","headers","targets","delay_ms","jitter_ms",
--    "deliver_at","idempotency_key","actor"}
-- Returns one row per element, in input order (ord is 1-based). An element whose idempotency key already
-- exists in its namespace returns the existing entry instead of a new one (duplicate = true).
--
-- With p_slim, each new entry comes back with the fields Postgres decided (id, partition, targets,
-- deliver_at, xid, created_at, actor) and null for the ones the writer sent (namespace, key, op, payload,
-- before, headers, idempotency_key): the SDK fills those in from its own input. Sending 1,000 payloads back
-- and parsing them again was a third of appendMany's client CPU. Duplicates still come back whole: the
-- writer does not know the stored entry.
--
-- Built for batches: it parses into an array, validates, groups and sorts locks, draws ids and inserts
-- set-wise, nine statements whatever the batch size. append_one is the path for a single entry, under the
-- same rules (entry_fault, the append locks, entry_deliver_at, default_actor, notify_append).
create or replace function {{schema}}.append_json(p_entries json, p_slim boolean default false)
returns table (
  ord int, id bigint, namespace text, key text, partition int, op text, payload jsonb, before jsonb,
  headers jsonb, targets text[], deliver_at timestamptz, idempotency_key text, xid xid8,
  created_at timestamptz, actor text, duplicate boolean
)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
#variable_conflict use_column
declare
  v_in {{schema}}.append_input[];
  v_n int;
  v_ids bigint[];
  v_returned int;
  v_actor text := {{schema}}.default_actor();
begin
  perform {{schema}}.raise_unstorable_text(p_entries::text);
  -- Parse the input once; every step below reads the array.
  select array_agg(row(i.ord::int, i.namespace, i.key, i.op, i.payload, i.before, i.headers, i.targets,
                       i.delay_ms, i.jitter_ms, i.deliver_at, i.idempotency_key, i.actor, i.partition_key
                      )::{{schema}}.append_input order by i.ord)
    into v_in
    from rows from (json_to_recordset(p_entries) as (
           namespace text, key text, op text, payload json, before json, headers json, targets text[],
           delay_ms bigint, jitter_ms bigint, deliver_at timestamptz, idempotency_key text, actor text,
           partition_key text
         )) with ordinality as i(namespace, key, op, payload, before, headers, targets, delay_ms,
                                 jitter_ms, deliver_at, idempotency_key, actor, partition_key, ord);
  v_n := coalesce(cardinality(v_in), 0);
  if v_n = 0 then
    return;
  end if;

  -- The first entry that breaks a rule raises its error, before any lock is taken. (The scan reads the
  -- fields entry_fault checks, not whole entries: x.ord, not x.)
  perform {{schema}}.raise_entry_fault(v_in[bad.ord], bad.n)
     from (select x.ord, n
             from unnest(v_in) x
             left join {{schema}}.namespaces n on n.name = x.namespace
            where {{schema}}.entry_fault(x, n) is not null
            limit 1) bad;

  -- Per-key commit order: a second writer of the same (namespace, key) waits until the first commits, so
  -- for one key, id order is commit order. Each namespace's advisory lock first, in a fixed order: shared
  -- (so that upsert_namespace, holding it exclusively, waits for appends in flight before repartitioning),
  -- or exclusive for a namespace with one total order. Then the row lock of each key of the other
  -- namespaces (lock_keys: row locks take no room in the shared lock table, so a batch may hold any number).
  perform {{schema}}.take_append_lock(l.lock_id, l.whole)
     from (select {{schema}}.append_lock_id(s.namespace) as lock_id, s.whole
             from (select x.namespace, bool_or(n.ordering = 'namespace') as whole
                     from unnest(v_in) x join {{schema}}.namespaces n on n.name = x.namespace
                    group by x.namespace) s
            order by 1, 2 desc) l;
  perform {{schema}}.lock_keys(array(
    select {{schema}}.key_lock_id(x.namespace, x.key)
      from unnest(v_in) x join {{schema}}.namespaces n on n.name = x.namespace
     where n.ordering <> 'namespace'));

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
      (id, namespace, key, partition_key, partition, op, payload, before, headers, targets, deliver_at,
       idempotency_key, actor)
    select i.new_id, i.namespace, i.key, i.partition_key,
           {{schema}}.partition_of(coalesce(i.partition_key, i.key), n.partitions, n.ordering),
           i.op, i.payload::jsonb, i.before::jsonb, coalesce(i.headers::jsonb, '{}'::jsonb),
           coalesce(i.targets, n.targets),
           {{schema}}.entry_deliver_at(i.deliver_at, i.delay_ms, i.jitter_ms),
           i.idempotency_key, coalesce(i.actor, v_actor)
      from input i
      join {{schema}}.namespaces n on n.name = i.namespace
     where i.idempotency_key is null or i.new_id in (select entry_id from claimed)
    returning *
  )
  select i.ord, e.id,
         case when p_slim then null else e.namespace end, case when p_slim then null else e.key end,
         e.partition, case when p_slim then null else e.op end,
         case when p_slim then null else e.payload end, case when p_slim then null else e.before end,
         case when p_slim then null else e.headers end, e.targets, e.deliver_at,
         case when p_slim then null else e.idempotency_key end, e.xid, e.created_at, e.actor, false
    from inserted e join input i on i.new_id = e.id
   order by i.ord;
  get diagnostics v_returned = row_count;

  perform {{schema}}.notify_append(array(
    select distinct x.namespace || ':' || {{schema}}.partition_of(coalesce(x.partition_key, x.key), n.partitions,
                                                                  n.ordering)
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
