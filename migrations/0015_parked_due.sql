-- walbox 0015: the parked entries that are not blocked, by when they may go (not_before, or at once when it
-- is null), then key and id, so that the dispatcher finds the due key heads of a partition from the soonest
-- due and stops there (src/sql/parked-heads.ts). parked_key_idx, by key, made every read of the due heads
-- scan all of a partition's parked entries: with 100,000 delayed jobs in four partitions, 25,000 rows per
-- read, several reads per drain step (docs/jobs.md). Built in the migration's transaction: parked holds what
-- is delayed or failing, not the log.
create index parked_due_idx on {{schema}}.parked
  (namespace, target, partition, (coalesce(not_before, '-infinity'::timestamptz)), key, entry_id)
  where not blocked;
