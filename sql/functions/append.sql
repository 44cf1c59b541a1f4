-- The friendly form for plain SQL, other languages and triggers: one entry, on the single-entry path.
create or replace function {{schema}}.append(
  p_namespace text, p_key text, p_op text, p_payload jsonb,
  p_before jsonb default null, p_headers jsonb default null, p_targets text[] default null,
  p_delay interval default null, p_deliver_at timestamptz default null,
  p_idempotency_key text default null, p_actor text default null
) returns bigint
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select id from {{schema}}.append_one(json_build_object(
    'namespace', p_namespace, 'key', p_key, 'op', p_op, 'payload', p_payload, 'before', p_before,
    'headers', p_headers, 'targets', p_targets,
    'delay_ms', (extract(epoch from p_delay) * 1000)::bigint,
    'deliver_at', p_deliver_at, 'idempotency_key', p_idempotency_key, 'actor', p_actor));
$$;
