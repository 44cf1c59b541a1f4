-- Deletes up to p_limit rows of key_locks that no transaction holds and none has locked in the last
-- p_min_age transactions: the rows of keys no longer written. Returns how many it deleted.
--
-- A row's last locker is its xmax (a lock-only xmax: lock_keys never updates), or its inserter (xmin) when
-- none locked it since; age() counts transaction ids since then. FOR UPDATE SKIP LOCKED passes over rows a
-- transaction holds. An append that meets a row this deletes waits for the delete to commit, then inserts
-- the row again (ON CONFLICT retries its insert when the conflicting row is gone), so the lock still holds.
create or replace function {{schema}}.prune_key_locks(p_limit int default 10000, p_min_age int default 1000000)
returns int
language sql security definer set search_path = pg_catalog, pg_temp as $$
  with old as (
    select k.lock_id
      from {{schema}}.key_locks k
     where age(case when k.xmax = '0'::xid then k.xmin else k.xmax end) > p_min_age
     limit p_limit
       for update skip locked
  ), gone as (
    delete from {{schema}}.key_locks k using old where k.lock_id = old.lock_id returning 1
  )
  select count(*)::int from gone
$$;
