-- One namespace's configuration, for producers: the SDK checks an entry against it before sending it. With
-- the owner's rights, so that a producer needs no SELECT on walbox's tables.
create or replace function {{schema}}.namespace_config(p_name text) returns setof {{schema}}.namespaces
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select * from {{schema}}.namespaces n where n.name = p_name
$$;
