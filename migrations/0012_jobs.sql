-- walbox 0012: the delayed-job queue. One row per job: what to run (payload), when (run_at), and where it
-- stands (state). Each schedule or reschedule appends a log entry carrying (job, generation) to the queue's
-- namespace "jobs.<queue>", delayed until run_at; the job sink claims the row before running the handler,
-- and an entry whose generation is no longer the job's is skipped (docs/jobs.md).
--
-- state: 'scheduled' (waiting), 'running' (claimed: the handler runs, or ran and the outcome is not recorded
-- yet), 'failed' (the last attempt threw; the dispatcher retries it or dead-letters it), 'succeeded',
-- 'cancelled'. Claim and cancel are both conditional updates of the row, so exactly one of them wins.

create sequence {{schema}}.jobs_id_seq;

create table {{schema}}.jobs (
  id              bigint primary key default nextval('{{schema}}.jobs_id_seq'),
  queue           text not null,
  -- The caller's shared ordering key; null: the job is its own key (one key per generation).
  key             text,
  state           text not null default 'scheduled'
                  check (state in ('scheduled', 'running', 'failed', 'succeeded', 'cancelled')),
  run_at          timestamptz not null,
  -- Bumped by each reschedule; only the entry of the current generation runs the job.
  generation      int not null default 1,
  payload         jsonb,
  idempotency_key text,
  attempts        int not null default 0,
  last_error      text,
  created_at      timestamptz not null default now(),
  started_at      timestamptz,
  finished_at     timestamptz
) with (fillfactor = 70);
alter sequence {{schema}}.jobs_id_seq owned by {{schema}}.jobs.id;

create unique index jobs_idempotency_idx on {{schema}}.jobs (queue, idempotency_key)
  where idempotency_key is not null;
-- Listing by due time. state is left out of every index, and pages keep room (fillfactor), so that the
-- claim and the finish of a job, the two updates the job sink makes per job, can be HOT updates: no index
-- entry written.
create index jobs_queue_run_at_idx on {{schema}}.jobs (queue, run_at);
