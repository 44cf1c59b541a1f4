-- Schedules jobs of queue p_queue in the caller's transaction: one jobs row and one log entry per job, in one
-- call. p_jobs is a JSON array of {"payload","key","idempotency_key","run_at","delay_ms","jitter_ms"}; run_at
-- is decided like an entry's deliver_at (entry_deliver_at: run_at, else now plus delay and a random part of
-- the jitter, else now). The entry goes to namespace "jobs.<queue>" with payload {"job","generation"}, under
-- the caller's key or, without one, a key of its own ("job:<id>:<generation>"), so that a job due next week
-- never holds back another. A job whose idempotency key the queue already holds is not scheduled again: its
-- row comes back with duplicate = true (a concurrent insert of the same key waits for the other transaction).
-- Returns one row per element, in input order (ord is 1-based).
--
-- With its owner's rights, like append_json (search_path pinned, every name schema-qualified): the producer
-- role schedules with EXECUTE on this function alone, without rights on the jobs table (docs/security.md).
create or replace function {{schema}}.jobs_schedule(p_queue text, p_jobs json)
returns table (ord int, id bigint, run_at timestamptz, duplicate boolean)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
#variable_conflict use_column
declare
  v_ords int[];
  v_ids bigint[];
  v_idem text[];
  v_runs timestamptz[];
begin
  if p_queue is null or p_queue !~ '^[a-z][a-z0-9_.-]{0,57}$' then
    raise exception 'walbox: invalid job queue name "%"', p_queue using errcode = '22023';
  end if;
  -- Ids are drawn up front (materialized: once per element) so that the entries can name their jobs in the
  -- same statement as the insert, which cannot be read back by its sibling parts.
  with input as materialized (
    select i.ord::int as ord, nextval('{{schema}}.jobs_id_seq') as id, i.payload, i.key, i.idempotency_key,
           coalesce({{schema}}.entry_deliver_at(i.run_at, i.delay_ms, i.jitter_ms), clock_timestamp()) as run_at
      from rows from (json_to_recordset(p_jobs) as (
             payload json, key text, idempotency_key text, run_at timestamptz, delay_ms bigint, jitter_ms bigint
           )) with ordinality as i(payload, key, idempotency_key, run_at, delay_ms, jitter_ms, ord)
  ),
  ins as (
    insert into {{schema}}.jobs as j (id, queue, key, payload, idempotency_key, run_at)
    select x.id, p_queue, x.key, x.payload::jsonb, x.idempotency_key, x.run_at from input x order by x.ord
    on conflict (queue, idempotency_key) where idempotency_key is not null do nothing
    returning j.id
  ),
  appended as (
    select count(*) as n
      from {{schema}}.append_json((
             select json_agg(json_build_object(
                      'namespace', 'jobs.' || p_queue,
                      'key', coalesce(x.key, 'job:' || x.id || ':1'),
                      'op', 'job',
                      'payload', json_build_object('job', x.id::text, 'generation', 1),
                      'deliver_at', x.run_at) order by x.ord)
               from input x join ins on ins.id = x.id), true)
  )
  select array_agg(x.ord order by x.ord), array_agg(ins.id order by x.ord),
         array_agg(x.idempotency_key order by x.ord), array_agg(x.run_at order by x.ord)
    into v_ords, v_ids, v_idem, v_runs
    from input x
    left join ins on ins.id = x.id
   cross join appended;

  -- A new statement: its snapshot sees the rows of the transactions the inserts above waited for.
  return query
  select u.ord, coalesce(u.id, j.id), case when u.id is null then j.run_at else u.run_at end, u.id is null
    from unnest(v_ords, v_ids, v_idem, v_runs) as u(ord, id, idem, run_at)
    left join {{schema}}.jobs j on u.id is null and j.queue = p_queue and j.idempotency_key = u.idem
   order by u.ord;
end;
$$;
