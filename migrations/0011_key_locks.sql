-- walbox 0011: per-key append locks as row locks.
--
-- Appends used to hold one advisory lock per key until commit, and Postgres's shared lock table holds only
-- about max_locks_per_transaction x max_connections of those: one bulk update of ~8k captured rows made
-- every session of the server fail with "out of shared memory". A row lock lives in the row itself (its
-- xmax), not in shared memory, so an append now locks its key's row of this table instead (lock_keys).
-- One row per (namespace, key) hash; maintenance deletes the rows no transaction holds.
create table {{schema}}.key_locks (
  lock_id bigint primary key
);
comment on table {{schema}}.key_locks is
  'walbox: one row per (namespace, key) hash, locked by appends until commit so that per key, id order is commit order';
