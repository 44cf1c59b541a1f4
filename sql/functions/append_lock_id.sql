-- The advisory lock of a namespace (p_key null) or of one of its keys, which take_append_lock takes: appends
-- hold their namespace's shared and each key's exclusively, or the namespace's exclusively; upsert_namespace
-- holds the namespace's exclusively. The key is joined to its namespace by chr(31), which names cannot hold.
create or replace function {{schema}}.append_lock_id(p_namespace text, p_key text default null) returns int
language sql immutable parallel safe as $$
  select case when p_key is null then hashtext(p_namespace) else hashtext(p_namespace || chr(31) || p_key) end
$$;
