-- walbox 0016: busy drains spare producers NOTIFY.
--
-- Every NOTIFY takes a database-wide lock at commit, held until the commit record is flushed: committing
-- transactions that notified wait for each other instead of sharing WAL flushes (16 single-entry producers:
-- 1,111 commits/s with NOTIFY, 2,371/s without). A drain that keeps finding entries polls its partition
-- anyway, so a NOTIFY for it is wasted. record_step stamps busy_until (now + the dispatcher's busyMs) on
-- every step that did work; notify_append leaves out a partition whose every target's drain is busy
-- (see sql/functions/notify_append.sql, docs/operations.md#wake-up-modes).
alter table {{schema}}.cursors add column busy_until timestamptz;
comment on column {{schema}}.cursors.busy_until is
  'walbox: until when the drain holding this cursor polls it often; appends skip NOTIFY for it until then';
