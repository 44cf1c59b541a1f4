-- Raises the error of the rule the entry breaks (see entry_fault), with walbox's SQLSTATE for it, which the
-- SDK maps to its error classes; returns when it breaks none. These are backstops for SQL callers: the SDK
-- has already rejected such entries before sending anything.
create or replace function {{schema}}.raise_entry_fault(p_entry {{schema}}.append_input,
                                                        p_namespace {{schema}}.namespaces)
returns void
language plpgsql as $$
begin
  case {{schema}}.entry_fault(p_entry, p_namespace)
    when 'unknown namespace' then
      raise exception 'walbox: unknown namespace "%"', p_entry.namespace using errcode = 'WB001';
    when 'no key' then
      raise exception 'walbox: entry of namespace "%" has no key', p_entry.namespace using errcode = 'WB003';
    when 'no op' then
      raise exception 'walbox: entry of namespace "%" has no op', p_entry.namespace using errcode = 'WB003';
    when 'negative delay' then
      raise exception 'walbox: negative delay' using errcode = 'WB004';
    when 'stray target' then
      raise exception 'walbox: target "%" is not a target of namespace "%"',
        (select t from unnest(p_entry.targets) t where not (t = any(p_namespace.targets)) limit 1),
        p_entry.namespace using errcode = 'WB003';
    when 'payload too large' then
      raise exception 'walbox: payload of % bytes exceeds the limit of % bytes of namespace "%"',
        octet_length(p_entry.payload::text), p_namespace.max_payload_bytes, p_entry.namespace
        using errcode = 'WB002';
    else
      return;
  end case;
end;
$$;
