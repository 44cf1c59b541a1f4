-- Locks the key_locks rows of p_lock_ids until the transaction ends, creating the missing ones: a second
-- transaction locking one of them waits until the first commits or rolls back.
--
-- ON CONFLICT DO UPDATE locks the conflicting row even when its WHERE is false, and then updates nothing
-- (PostgreSQL docs, INSERT, "condition"): the row gets a lock-only xmax, no new version and no dead tuple.
-- A new key's row is inserted; a concurrent inserter of the same key waits on it like on a lock, until the
-- inserter commits. Row locks are kept in the rows, not in the shared lock table, so a transaction may lock
-- any number of keys. The ids are locked in ascending order, so two batches cannot deadlock each other.
--
-- Under REPEATABLE READ or SERIALIZABLE, a key whose row another transaction created and committed after
-- this transaction's snapshot raises 40001 (could not serialize), as any conflicting insert does there.
--
-- PL/pgSQL rather than SQL: a PL/pgSQL function keeps its statement's plan for the session, a SQL function
-- that is not inlined (an INSERT never is) plans it again on every call.
create or replace function {{schema}}.lock_keys(p_lock_ids bigint[]) returns void
language plpgsql as $$
begin
  insert into {{schema}}.key_locks as k (lock_id)
  select distinct l from unnest(p_lock_ids) l order by 1
  on conflict (lock_id) do update set lock_id = excluded.lock_id where false;
end;
$$;
