-- Moves a scheduled job of queue p_queue to p_run_at, in the caller's transaction: bumps its generation and
-- appends an entry for the new generation (the old one is skipped by the job sink when it falls due).
-- Without a shared key the new entry has a key of its own, so moving a job earlier never leaves it queued
-- behind its old, later entry. False when the job is not scheduled (unknown, running, done or cancelled).
-- The row lock taken here makes a claim of the same job skip it until this transaction ends. With its
-- owner's rights, as jobs_schedule.
create or replace function {{schema}}.jobs_reschedule(p_queue text, p_id bigint, p_run_at timestamptz)
returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_job record;
begin
  update {{schema}}.jobs j
     set generation = j.generation + 1, run_at = p_run_at
   where j.queue = p_queue and j.id = p_id and j.state = 'scheduled'
  returning j.id, j.key, j.generation into v_job;
  if not found then
    return false;
  end if;
  perform {{schema}}.append_one(json_build_object(
    'namespace', 'jobs.' || p_queue,
    'key', coalesce(v_job.key, 'job:' || v_job.id || ':' || v_job.generation),
    'op', 'job',
    'payload', json_build_object('job', v_job.id::text, 'generation', v_job.generation),
    'deliver_at', p_run_at), true);
  return true;
end;
$$;
