-- Appends one entry: what append_json does for a batch, for one entry, in three statements (four with an
-- idempotency key, five when a NOTIFY goes out) instead of nine. The SDK calls it for append(), and so do
-- the SQL function append() and with it the capture trigger. For one entry, append_json spent ~430 µs of
-- backend CPU against ~150 µs for inserting the row by hand.
--
-- The rules are append_json's: entry_fault and its errors, the namespace's append lock shared (exclusive for
-- a namespace with one total order) and then the key's row lock (lock_keys' statement, inlined), the id
-- drawn only after the locks, the idempotency key claimed before the insert, entry_deliver_at,
-- default_actor, notify_append.
--
-- Cheap by construction (a profile of a backend running it: the statements run through SPI were a third of
-- its CPU, each paying executor start-up and end): what can be a PL/pgSQL simple expression is one (an IF
-- or an assignment with no table in it runs without the executor; a PERFORM always starts it). So the check
-- for text Postgres cannot store calls raise_unstorable_text only when the JSON has an escape at all, the
-- advisory lock is taken by an assignment, the key lock is this function's own INSERT (not a nested
-- function's), and notify_append is not called when walbox.notify is 'off'.
create or replace function {{schema}}.append_one(p_entry json, p_slim boolean default false)
returns table (
  ord int, id bigint, namespace text, key text, partition int, op text, payload jsonb, before jsonb,
  headers jsonb, targets text[], deliver_at timestamptz, idempotency_key text, xid xid8,
  created_at timestamptz, actor text, duplicate boolean
)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
#variable_conflict use_column
declare
  v_in {{schema}}.append_input;
  v_ns {{schema}}.namespaces;
  v_id bigint;
  v_row record;
  v_locked boolean;
begin
  if strpos(p_entry::text, E'\\u') > 0 then
    perform {{schema}}.raise_unstorable_text(p_entry::text);
  end if;
  v_in := json_populate_record(null::{{schema}}.append_input, p_entry);
  select * into v_ns from {{schema}}.namespaces n where n.name = v_in.namespace;
  if {{schema}}.entry_fault(v_in, v_ns) is not null then
    perform {{schema}}.raise_entry_fault(v_in, v_ns);
  end if;

  -- The locks of append_json, in its order: the namespace's advisory lock, then the key's row lock.
  -- (take_append_lock returns void; its text is '', and the assignment keeps it a simple expression.)
  v_locked := {{schema}}.take_append_lock({{schema}}.append_lock_id(v_in.namespace),
                                         v_ns.ordering = 'namespace')::text = '';
  if v_ns.ordering <> 'namespace' then
    insert into {{schema}}.key_locks as k (lock_id)
    values ({{schema}}.key_lock_id(v_in.namespace, v_in.key))
    on conflict (lock_id) do update set lock_id = excluded.lock_id where false;
  end if;
  v_id := nextval('{{schema}}.entries_id_seq');

  if v_in.idempotency_key is not null then
    insert into {{schema}}.idempotency_keys as k (namespace, idempotency_key, entry_id)
    values (v_in.namespace, v_in.idempotency_key, v_id)
    on conflict do nothing;
    if not found then
      -- Taken, earlier or by a transaction that committed while this insert waited: return that entry.
      return query
      select 1, e.id, e.namespace, e.key, e.partition, e.op, e.payload, e.before, e.headers, e.targets,
             e.deliver_at, e.idempotency_key, e.xid, e.created_at, e.actor, true
        from {{schema}}.idempotency_keys k
        join {{schema}}.entries e on e.id = k.entry_id
       where k.namespace = v_in.namespace and k.idempotency_key = v_in.idempotency_key;
      return;
    end if;
  end if;

  insert into {{schema}}.entries as e
    (id, namespace, key, partition_key, partition, op, payload, before, headers, targets, deliver_at,
     idempotency_key, actor)
  values (
    v_id, v_in.namespace, v_in.key, v_in.partition_key,
    {{schema}}.partition_of(coalesce(v_in.partition_key, v_in.key), v_ns.partitions, v_ns.ordering),
    v_in.op, v_in.payload::jsonb, v_in.before::jsonb, coalesce(v_in.headers::jsonb, '{}'::jsonb),
    coalesce(v_in.targets, v_ns.targets),
    {{schema}}.entry_deliver_at(v_in.deliver_at, v_in.delay_ms, v_in.jitter_ms),
    v_in.idempotency_key,
    coalesce(v_in.actor, {{schema}}.default_actor())
  )
  returning e.partition, e.targets, e.deliver_at, e.xid, e.created_at, e.actor, e.payload, e.before,
            e.headers
  into v_row;

  if coalesce(current_setting('walbox.notify', true), '') <> 'off' then
    perform {{schema}}.notify_append(array[v_in.namespace || ':' || v_row.partition]);
  end if;

  ord := 1;
  id := v_id;
  partition := v_row.partition;
  targets := v_row.targets;
  deliver_at := v_row.deliver_at;
  xid := v_row.xid;
  created_at := v_row.created_at;
  actor := v_row.actor;
  duplicate := false;
  if not p_slim then
    namespace := v_in.namespace;
    key := v_in.key;
    op := v_in.op;
    payload := v_row.payload;
    before := v_row.before;
    headers := v_row.headers;
    idempotency_key := v_in.idempotency_key;
  end if;
  return next;
end;
$$;
