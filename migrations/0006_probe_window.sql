-- walbox 0006: probing a failed batch entry by entry lasts until the cursor has passed that batch.

-- Set once a whole batch failed `retry.limit + 1` times: the id of the last log entry that batch read ('0'
-- when it read none, its entries all coming from parked). While set, the dispatcher offers one entry at a
-- time (due parked entries first, then the log) and clears it once it reads the log past that id or to
-- the end of the window. It lives with the cursor so that a restart or another dispatcher taking the
-- lease over goes on probing, and record_step (sql/functions/record_step.sql) writes it under the same
-- lease fence as the rest.
alter table {{schema}}.cursors add column probe_until_id bigint;
