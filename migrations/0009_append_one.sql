-- walbox 0009: a single-entry append path.
--
-- append_json is built for batches: it parses into an array, validates, groups and sorts locks, draws ids
-- and inserts set-wise, nine statements whatever the batch size. For one entry that was ~430 µs of backend
-- CPU against ~150 µs for inserting the row by hand. append_one does the same for one entry with the
-- checks as plain expressions and four statements (five with an idempotency key). The SDK calls it for
-- append(), and so do the SQL function append() and with it the capture trigger.
--
-- Same rules as append_json: the same validation and SQLSTATEs, the namespace lock shared (exclusive for a
-- namespace with one total order) and then the key's lock, the id drawn only after the locks, the
-- idempotency key claimed before the insert, NOTIFY unless walbox.notify is off.
create function {{schema}}.append_one(p_entry json, p_slim boolean default false)
returns table (
  ord int, id bigint, namespace text, key text, partition int, op text, payload jsonb, before jsonb,
  headers jsonb, targets text[], deliver_at timestamptz, idempotency_key text, xid xid8,
  created_at timestamptz, actor text, duplicate boolean
)
language plpgsql as $$
#variable_conflict use_column
declare
  v_in {{schema}}.append_input;
  v_ns {{schema}}.namespaces;
  v_id bigint;
  v_class int := hashtext('walbox:' || '{{schema_raw}}');
  v_stray text;
  v_row record;
begin
  v_in := json_populate_record(null::{{schema}}.append_input, p_entry);
  select * into v_ns from {{schema}}.namespaces n where n.name = v_in.namespace;
  if not found then
    raise exception 'walbox: unknown namespace "%"', v_in.namespace using errcode = 'WB001';
  elsif v_in.key is null or v_in.key = '' then
    raise exception 'walbox: entry of namespace "%" has no key', v_in.namespace using errcode = 'WB003';
  elsif v_in.op is null or v_in.op = '' then
    raise exception 'walbox: entry of namespace "%" has no op', v_in.namespace using errcode = 'WB003';
  elsif v_in.delay_ms < 0 or v_in.jitter_ms < 0 then
    raise exception 'walbox: negative delay' using errcode = 'WB004';
  elsif not (coalesce(v_in.targets, '{}') <@ v_ns.targets) then
    v_stray := (select t from unnest(v_in.targets) t where not (t = any(v_ns.targets)) limit 1);
    raise exception 'walbox: target "%" is not a target of namespace "%"', v_stray, v_in.namespace
      using errcode = 'WB003';
  elsif octet_length(v_in.payload::text) > v_ns.max_payload_bytes then
    raise exception 'walbox: payload of % bytes exceeds the limit of % bytes of namespace "%"',
      octet_length(v_in.payload::text), v_ns.max_payload_bytes, v_in.namespace using errcode = 'WB002';
  end if;

  -- The locks of append_json, in its order: the namespace's, then the key's.
  if v_ns.ordering = 'namespace' then
    perform pg_advisory_xact_lock(v_class, hashtext(v_in.namespace));
  else
    perform pg_advisory_xact_lock_shared(v_class, hashtext(v_in.namespace)),
            pg_advisory_xact_lock(v_class, hashtext(v_in.namespace || chr(31) || v_in.key));
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
    (id, namespace, key, partition, op, payload, before, headers, targets, deliver_at, idempotency_key, actor)
  values (
    v_id, v_in.namespace, v_in.key, {{schema}}.partition_of(v_in.key, v_ns.partitions, v_ns.ordering),
    v_in.op, v_in.payload::jsonb, v_in.before::jsonb, coalesce(v_in.headers::jsonb, '{}'::jsonb),
    coalesce(v_in.targets, v_ns.targets),
    case
      when v_in.deliver_at is not null then v_in.deliver_at
      when coalesce(v_in.delay_ms, 0) + coalesce(v_in.jitter_ms, 0) > 0 then
        clock_timestamp() + make_interval(secs => (coalesce(v_in.delay_ms, 0)
          + floor(random() * (coalesce(v_in.jitter_ms, 0) + 1))) / 1000.0)
    end,
    v_in.idempotency_key,
    coalesce(v_in.actor, nullif(current_setting('walbox.actor', true), ''), session_user)
  )
  returning e.partition, e.targets, e.deliver_at, e.xid, e.created_at, e.actor, e.payload, e.before,
            e.headers
  into v_row;

  if coalesce(current_setting('walbox.notify', true), '') <> 'off' then
    perform pg_notify('walbox_' || '{{schema_raw}}', v_in.namespace || ':' || v_row.partition);
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

-- The friendly form for plain SQL, other languages and triggers: now on the single-entry path.
create or replace function {{schema}}.append(
  p_namespace text, p_key text, p_op text, p_payload jsonb,
  p_before jsonb default null, p_headers jsonb default null, p_targets text[] default null,
  p_delay interval default null, p_deliver_at timestamptz default null,
  p_idempotency_key text default null, p_actor text default null
) returns bigint
language sql as $$
  select id from {{schema}}.append_one(json_build_object(
    'namespace', p_namespace, 'key', p_key, 'op', p_op, 'payload', p_payload, 'before', p_before,
    'headers', p_headers, 'targets', p_targets,
    'delay_ms', (extract(epoch from p_delay) * 1000)::bigint,
    'deliver_at', p_deliver_at, 'idempotency_key', p_idempotency_key, 'actor', p_actor));
$$;
