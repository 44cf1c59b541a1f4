-- The row of key_locks that an append of (namespace, key) locks. 64 bits of hash: two keys that collide
-- only wait for each other, which is harmless and, at one pair in ~2^32 keys, rare. The key is joined to
-- its namespace by chr(31), which names cannot hold.
create or replace function {{schema}}.key_lock_id(p_namespace text, p_key text) returns bigint
language sql immutable parallel safe as $$
  select hashtextextended(p_namespace || chr(31) || p_key, 0)
$$;
