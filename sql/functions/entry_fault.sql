-- The rule an entry of an append breaks, or null when it breaks none: append_json and append_one check with
-- this, raise_entry_fault says which error it is. p_namespace is the row of the entry's namespace (all null
-- when there is no such namespace). The rules are checked in this order, so the first one broken is named.
-- One expression without sublinks, so the planner inlines it: append_json checks a batch in one scan.
create or replace function {{schema}}.entry_fault(p_entry {{schema}}.append_input,
                                                  p_namespace {{schema}}.namespaces)
returns text
language sql immutable as $$
  select case
    when p_namespace.name is null then 'unknown namespace'
    when p_entry.key is null or p_entry.key = '' then 'no key'
    when p_entry.op is null or p_entry.op = '' then 'no op'
    when p_entry.delay_ms < 0 or p_entry.jitter_ms < 0 then 'negative delay'
    when not (coalesce(p_entry.targets, '{}') <@ p_namespace.targets) then 'stray target'
    when octet_length(p_entry.payload::text) > p_namespace.max_payload_bytes then 'payload too large'
  end
$$;
