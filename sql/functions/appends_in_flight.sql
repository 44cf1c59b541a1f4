-- True while a transaction that appended to the namespace has not ended: every append holds its namespace's
-- append lock (take_append_lock) until it commits or rolls back. Tried without waiting: an exclusive request
-- that queued would hold back every producer of the namespace. Called outside a transaction block, the lock
-- it takes when nobody holds it ends with the statement. A drain asks before it gives a partition up, so that
-- an append that skipped NOTIFY while the drain was busy (notify_append) is read before the drain leaves.
create or replace function {{schema}}.appends_in_flight(p_namespace text) returns boolean
language sql volatile as $$
  select not pg_try_advisory_xact_lock(hashtext('walbox:' || '{{schema_raw}}'), {{schema}}.append_lock_id(p_namespace))
$$;
