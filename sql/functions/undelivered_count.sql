-- Entries of a namespace that some of its targets have not applied yet: for each (target, partition), those
-- its cursor has not passed (no cursor: all of them), plus every parked entry (delayed, retrying, blocked
-- after retries ran out, or queued by a replay or redrive). A dead-lettered ('dead') or discarded entry is
-- passed and no longer parked, so it does not count. delivery_status() judges one entry, and would need the
-- partition's whole history scanned to find the undelivered ones; unoffered_entries() costs a few index
-- probes per (target, partition) of a drained log.
-- The count stops after p_cap rows (an entry appears once per target that lacks it): `capped` then says
-- there may be more. The caller holds appends back meanwhile, so a backlog of millions is not walked.
-- JIT is off: for the planner's estimate of that many rows, Postgres spent 700 ms compiling a query that
-- then ran in 20 ms.
create or replace function {{schema}}.undelivered_count(p_namespace text, p_cap int default 10000)
returns table (pending int, capped boolean)
language sql stable set jit = off as $$
  with ns as (
    select n.targets, n.partitions from {{schema}}.namespaces n where n.name = p_namespace
  ),
  -- The namespace's partitions, and any other one a cursor still reads (left by an earlier change).
  parts as (
    select generate_series(0, ns.partitions - 1) as partition from ns
    union
    select c.partition from {{schema}}.cursors c where c.namespace = p_namespace
  ),
  -- union all, not union: a union's de-duplication reads all its input before the limit can stop it.
  pending as (
    select e.id
      from ns
     cross join unnest(ns.targets) as t(target)
     cross join parts p
      left join {{schema}}.cursors c
        on c.namespace = p_namespace and c.target = t.target and c.partition = p.partition
     cross join lateral (
       select e.id
         from {{schema}}.unoffered_entries(p_namespace, p.partition, t.target, c.prev_snapshot, c.cur_snapshot,
                                           c.after_id) e
       -- A fence: pulled up into the outer query, this became one hash join over the namespace's whole
       -- history (1.3 s at 1M entries); kept apart, it is an index range per (target, partition).
       offset 0
     ) e
    union all
    select p.entry_id
      from ns
      join {{schema}}.parked p on p.namespace = p_namespace and p.target = any(ns.targets)
  )
  select count(distinct id)::int, count(*) >= p_cap from (select id from pending limit p_cap) firsts;
$$;
