-- Cancels a job of queue p_queue in the caller's transaction: true if it was scheduled (or failed, awaiting
-- a retry) and is now cancelled, false if it is unknown, claimed by the job sink (running or done) or
-- cancelled already. Its entries stay in the log; the job sink skips a cancelled job. Claim and cancel are
-- conditional updates of the same row, so a race ends with exactly one winner. With its owner's rights, as
-- jobs_schedule: the producer role cancels without rights on the jobs table.
create or replace function {{schema}}.jobs_cancel(p_queue text, p_id bigint)
returns boolean
language sql security definer set search_path = pg_catalog, pg_temp as $$
  with cancelled as (
    update {{schema}}.jobs j set state = 'cancelled', finished_at = now()
     where j.queue = p_queue and j.id = p_id and j.state in ('scheduled', 'failed')
    returning j.id
  )
  select exists (select 1 from cancelled)
$$;
