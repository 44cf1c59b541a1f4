-- The partition of a key: keys spread over a namespace's partitions by hash; one total order means one.
create or replace function {{schema}}.partition_of(p_key text, p_partitions int, p_ordering text) returns int
language sql immutable parallel safe as $$
  select case when p_partitions = 1 or p_ordering = 'namespace' then 0 else abs(hashtext(p_key) % p_partitions) end
$$;
