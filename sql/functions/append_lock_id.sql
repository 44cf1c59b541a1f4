-- The advisory lock of a namespace, which take_append_lock takes: appends hold their namespace's shared (or
-- exclusively, for a namespace with one total order); upsert_namespace holds it exclusively. Keys are
-- locked with row locks instead (key_lock_id, lock_keys). p_key is what walbox 0.1 locked keys with; it
-- stays in the signature so that upgraded and fresh schemas keep one function of this name.
create or replace function {{schema}}.append_lock_id(p_namespace text, p_key text default null) returns int
language sql immutable parallel safe as $$
  select case when p_key is null then hashtext(p_namespace) else hashtext(p_namespace || chr(31) || p_key) end
$$;
