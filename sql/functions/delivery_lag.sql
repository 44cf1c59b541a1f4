-- One row per (namespace, target, partition) of the namespaces' current targets and partitions, plus any
-- other a cursor still holds. For each:
--   pending            log entries the target has not been offered yet (past its cursor), counted up to p_cap
--                      (capped = true: there are at least that many);
--   oldest_pending_at  created_at of the first of them in transaction order: now() minus this is the lag;
--   parked / blocked   entries offered and held back (delayed, retrying, or queued behind one of their key) /
--                      of those, the heads of keys blocked until an operator acts (onExhausted 'block');
--   dead               open dead letters (status dead or blocking);
--   failures, retry_at the whole target failing: consecutive failed batches and the next attempt;
--   lease_owner / lease_until  the dispatcher draining it right now, if any (a lapsed lease shows null).
-- A drained log of millions of entries costs a few index probes per row (see unoffered_entries); a backlog
-- costs up to p_cap rows read per row. Entries of transactions still open are not counted: they are not in
-- the log until they commit.
create or replace function {{schema}}.delivery_lag(p_namespace text default null, p_cap int default 100000)
returns table (
  namespace text, target text, partition int, pending int, capped boolean, oldest_pending_at timestamptz,
  parked int, blocked int, dead int, failures int, retry_at timestamptz, lease_owner text,
  lease_until timestamptz, delivered bigint, updated_at timestamptz
)
language sql stable set jit = off as $$
  with slots as (
    select n.name as namespace, t.target, p.partition
      from {{schema}}.namespaces n
     cross join unnest(n.targets) as t(target)
     cross join generate_series(0, n.partitions - 1) as p(partition)
     where p_namespace is null or n.name = p_namespace
    union
    select c.namespace, c.target, c.partition
      from {{schema}}.cursors c
     where p_namespace is null or c.namespace = p_namespace
  ),
  positions as (
    select s.*, c.prev_snapshot as prev, c.cur_snapshot as cur, c.after_id,
           c.failures, c.retry_at, c.lease_owner, c.lease_until, c.delivered, c.updated_at
      from slots s
      left join {{schema}}.cursors c
        on c.namespace = s.namespace and c.target = s.target and c.partition = s.partition
  )
  select p.namespace, p.target, p.partition, log.pending::int, log.pending >= p_cap, first.created_at,
         coalesce(pk.parked, 0)::int, coalesce(pk.blocked, 0)::int, coalesce(dl.dead, 0)::int,
         coalesce(p.failures, 0), p.retry_at,
         case when p.lease_until > clock_timestamp() then p.lease_owner end,
         case when p.lease_until > clock_timestamp() then p.lease_until end,
         coalesce(p.delivered, 0), p.updated_at
    from positions p
   cross join lateral (
     select count(*) as pending from (
       select 1 from {{schema}}.unoffered_entries(p.namespace, p.partition, p.target, p.prev, p.cur, p.after_id)
        limit p_cap) capped) log
    left join lateral (
     select e.created_at
       from {{schema}}.unoffered_entries(p.namespace, p.partition, p.target, p.prev, p.cur, p.after_id) e
      order by e.xid
      limit 1) first on true
    left join lateral (
     select count(*) as parked, count(*) filter (where k.blocked) as blocked
       from {{schema}}.parked k
      where k.namespace = p.namespace and k.target = p.target and k.partition = p.partition) pk on true
    left join lateral (
     select count(*) as dead
       from {{schema}}.dead_letters d
      where d.namespace = p.namespace and d.target = p.target and d.partition = p.partition
        and d.status in ('dead', 'blocking')) dl on true
   order by p.namespace, p.target, p.partition;
$$;
