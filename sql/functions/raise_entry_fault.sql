-- Raises the error of the rule the entry breaks (see entry_fault, which holds the limits), with walbox's
-- SQLSTATE for it, which the SDK maps to its error classes; returns when it breaks none. These are backstops
-- for SQL callers: the SDK has already rejected such entries before sending anything. WB002: too large,
-- WB003: an invalid field, named in the message, WB004: a delay or deliver_at out of range.
create or replace function {{schema}}.raise_entry_fault(p_entry {{schema}}.append_input,
                                                        p_namespace {{schema}}.namespaces)
returns void
language plpgsql as $$
declare
  v_fault text := {{schema}}.entry_fault(p_entry, p_namespace);
  v_field text := split_part(v_fault, ' ', 1);
begin
  case v_fault
    when 'unknown namespace' then
      raise exception 'walbox: unknown namespace "%"', p_entry.namespace using errcode = 'WB001';
    when 'no key' then
      raise exception 'walbox: entry of namespace "%" has no key', p_entry.namespace using errcode = 'WB003';
    when 'key too long' then
      raise exception 'walbox: key of an entry of namespace "%" is % bytes, over the limit of 512 bytes',
        p_entry.namespace, octet_length(p_entry.key) using errcode = 'WB003';
    when 'no op' then
      raise exception 'walbox: entry of namespace "%" has no op', p_entry.namespace using errcode = 'WB003';
    when 'op too long' then
      raise exception 'walbox: op of an entry of namespace "%" is % bytes, over the limit of 64 bytes',
        p_entry.namespace, octet_length(p_entry.op) using errcode = 'WB003';
    when 'bad idempotency key' then
      raise exception 'walbox: idempotency key of an entry of namespace "%" is % bytes, not 1 to 512 bytes',
        p_entry.namespace, octet_length(p_entry.idempotency_key) using errcode = 'WB003';
    when 'bad partition key' then
      raise exception 'walbox: partition key of an entry of namespace "%" is % bytes, not 1 to 512 bytes',
        p_entry.namespace, octet_length(p_entry.partition_key) using errcode = 'WB003';
    when 'bad actor' then
      raise exception 'walbox: actor of an entry of namespace "%" is % bytes, not 1 to 1024 bytes',
        p_entry.namespace, octet_length(p_entry.actor) using errcode = 'WB003';
    when 'negative delay' then
      raise exception 'walbox: negative delay' using errcode = 'WB004';
    when 'delay too long' then
      raise exception 'walbox: delay of % ms (plus jitter % ms) exceeds the limit of 366 days',
        p_entry.delay_ms, coalesce(p_entry.jitter_ms, 0) using errcode = 'WB004';
    when 'deliver_at out of range' then
      raise exception 'walbox: deliver_at % is more than 366 days from now', p_entry.deliver_at
        using errcode = 'WB004';
    when 'stray target' then
      raise exception 'walbox: target "%" is not a target of namespace "%"',
        (select t from unnest(p_entry.targets) t where not (t = any(p_namespace.targets)) limit 1),
        p_entry.namespace using errcode = 'WB003';
    when 'payload too deep', 'before too deep', 'headers too deep' then
      raise exception 'walbox: % of an entry of namespace "%" is nested more than 100 arrays and objects deep',
        v_field, p_entry.namespace using errcode = 'WB003';
    when 'payload too large' then
      raise exception 'walbox: entry of % bytes (key, op, payload, before, headers, idempotency key, actor) '
        'exceeds the limit of % bytes (max_payload_bytes) of namespace "%"',
        octet_length(p_entry.key) + octet_length(p_entry.op)
          + coalesce(octet_length(p_entry.payload::text), 0) + coalesce(octet_length(p_entry.before::text), 0)
          + coalesce(octet_length(p_entry.headers::text), 0)
          + coalesce(octet_length(p_entry.idempotency_key), 0) + coalesce(octet_length(p_entry.actor), 0),
        p_namespace.max_payload_bytes, p_entry.namespace
        using errcode = 'WB002';
    else
      return;
  end case;
end;
$$;
