-- Records the outcome of one drain step atomically, fenced by the drain lease: if the caller no longer holds
-- the lease (it lapsed and another dispatcher took over), nothing is written and WB010 is raised. The sink
-- has applied the batch by then; the new holder re-delivers it, which idempotent sinks absorb.
-- p_step: {namespace, target, partition, owner, lease_ms, busy_ms, prev, cur, after_id, failures, retry_at,
--          probe_until_id, delivered, unpark: [entry_id], park: [{key, entry_id, not_before, attempts, blocked,
--          last_error, first_failed_at}], dead: [{entry_id, key, status, attempts, last_error, first_failed_at}]}
create or replace function {{schema}}.record_step(p_step json) returns void
language plpgsql as $$
declare
  v_ns text := p_step ->> 'namespace';
  v_target text := p_step ->> 'target';
  v_partition int := (p_step ->> 'partition')::int;
begin
  update {{schema}}.cursors c
     set prev_snapshot  = (p_step ->> 'prev')::pg_snapshot,
         cur_snapshot   = (p_step ->> 'cur')::pg_snapshot,
         after_id       = (p_step ->> 'after_id')::bigint,
         failures       = (p_step ->> 'failures')::int,
         retry_at       = (p_step ->> 'retry_at')::timestamptz,
         probe_until_id = (p_step ->> 'probe_until_id')::bigint,
         delivered      = c.delivered + coalesce((p_step ->> 'delivered')::bigint, 0),
         lease_until    = clock_timestamp() + make_interval(secs => (p_step ->> 'lease_ms')::float8 / 1000),
         -- The drain polls this partition every busyPollMs until then: appends need not NOTIFY it.
         busy_until     = case when coalesce((p_step ->> 'busy_ms')::int, 0) > 0
                               then clock_timestamp() + make_interval(secs => (p_step ->> 'busy_ms')::float8 / 1000)
                               end,
         updated_at     = clock_timestamp()
   where c.namespace = v_ns and c.target = v_target and c.partition = v_partition
     and c.lease_owner = p_step ->> 'owner' and c.lease_until > clock_timestamp();
  if not found then
    raise exception 'walbox: drain lease of %/%/% lost', v_ns, v_target, v_partition using errcode = 'WB010';
  end if;

  delete from {{schema}}.parked p
   where p.namespace = v_ns and p.target = v_target and p.partition = v_partition
     and p.entry_id in (select value::bigint from json_array_elements_text(p_step -> 'unpark'));

  insert into {{schema}}.parked as p
    (namespace, target, partition, key, entry_id, not_before, attempts, blocked, last_error, first_failed_at)
  select v_ns, v_target, v_partition, x.key, x.entry_id, x.not_before, coalesce(x.attempts, 0),
         coalesce(x.blocked, false), x.last_error, x.first_failed_at
    from json_to_recordset(p_step -> 'park') as x(key text, entry_id bigint, not_before timestamptz,
                                                 attempts int, blocked boolean, last_error text,
                                                 first_failed_at timestamptz)
  on conflict (namespace, target, partition, entry_id) do update
     set not_before = excluded.not_before, attempts = excluded.attempts, blocked = excluded.blocked,
         last_error = excluded.last_error, first_failed_at = coalesce(p.first_failed_at, excluded.first_failed_at);

  insert into {{schema}}.dead_letters
    (entry_id, namespace, target, partition, key, entry, status, attempts, last_error, first_failed_at)
  select x.entry_id, v_ns, v_target, v_partition, x.key, to_jsonb(e), x.status, x.attempts, x.last_error,
         x.first_failed_at
    from json_to_recordset(p_step -> 'dead') as x(entry_id bigint, key text, status text, attempts int,
                                                 last_error text, first_failed_at timestamptz)
    join {{schema}}.entries e on e.id = x.entry_id
  on conflict (entry_id, target) where status in ('dead', 'blocking') do update
     set attempts = excluded.attempts, last_error = excluded.last_error, last_failed_at = now();

  -- A dead-lettered entry ('dead') leaves the parked table; a blocking one stays as its key's blocked head.
  delete from {{schema}}.parked p
   where p.namespace = v_ns and p.target = v_target and p.partition = v_partition
     and p.entry_id in (select x.entry_id from json_to_recordset(p_step -> 'dead') as x(entry_id bigint, status text)
                         where x.status = 'dead');
end;
$$;
