-- walbox 0007: namespace changes that would break per-key order are refused while entries are undelivered.

-- Entries of a namespace that some of its targets have not applied yet: for each (target, partition), those
-- its cursor has not passed (no cursor: all of them), plus every parked entry (delayed, retrying, blocked
-- after retries ran out, or queued by a replay or redrive). A dead-lettered ('dead') or discarded entry is
-- passed and no longer parked, so it does not count. The same reading of a cursor as delivery_status(),
-- set-wise: that function judges one entry, and would need the partition's whole history scanned to find
-- the undelivered ones. Here the xid conditions are those of readBatch (an index range on
-- entries_reader_idx from the cursor's xmin), so a drained log of millions of entries costs a few index
-- probes per (target, partition).
-- The count stops after p_cap rows (an entry appears once per target that lacks it): `capped` then says
-- there may be more. The caller holds appends back meanwhile, so a backlog of millions is not walked.
-- JIT is off: for the planner's estimate of that many rows, Postgres spent 700 ms compiling a query that
-- then ran in 20 ms.
create function {{schema}}.undelivered_count(p_namespace text, p_cap int default 10000)
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
       -- No cursor yet: the start of the log ('1:1:', as a new cursor), so every entry is undelivered.
       select coalesce(c.prev_snapshot, '1:1:'::pg_snapshot) as prev
     ) pos
     cross join lateral (
       select e.id
         from {{schema}}.entries e
        where e.namespace = p_namespace and e.partition = p.partition
          and e.xid >= pg_snapshot_xmin(pos.prev)
          and (e.xid >= pg_snapshot_xmax(pos.prev)
               or e.xid = any(array(select pg_snapshot_xip(pos.prev))))
          and t.target = any(e.targets)
          -- In the cursor's open window and at or before its after_id: already offered (applied or parked).
          and not (c.cur_snapshot is not null and pg_visible_in_snapshot(e.xid, c.cur_snapshot)
                   and e.id <= coalesce(c.after_id, 0))
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

-- Creates a namespace or replaces its configuration. Changing partitions or ordering of an existing
-- namespace moves keys to other partitions, each drained by its own cursors: a key's undelivered entries in
-- the old partition and its new ones could then be applied out of order. So unless p_force, such a change
-- is refused with WB011 while any entry is undelivered (DETAIL: {"pending": n, "capped": bool} for the
-- SDK), and nothing is written. Any other change goes through at once.
--
-- The check holds the namespace's advisory lock exclusively (appends hold it shared, or exclusively; see
-- append_json): it waits for in-flight appends to commit, so it counts their entries, and appends that come
-- later wait, then read the new partitioning. It needs READ COMMITTED: each statement after the lock wait
-- takes a new snapshot that sees what committed meanwhile (a REPEATABLE READ snapshot would not).
-- The wait is bounded by lock_timeout, 5 s when unset: appends queue behind a waiting exclusive request,
-- so waiting on a transaction left open would stall every producer of the namespace.
create function {{schema}}.upsert_namespace(
  p_name text, p_ordering text, p_partitions int, p_targets text[], p_retry jsonb, p_on_exhausted text,
  p_max_payload_bytes int, p_retention_hours int, p_force boolean default false
) returns setof {{schema}}.namespaces
language plpgsql as $$
declare
  v_old {{schema}}.namespaces;
  v_row {{schema}}.namespaces;
  v_timeout text;
  v_pending int;
  v_capped boolean;
begin
  loop
    insert into {{schema}}.namespaces as n
      (name, ordering, partitions, targets, retry, on_exhausted, max_payload_bytes, retention_hours)
    values (p_name, p_ordering, p_partitions, p_targets, p_retry, p_on_exhausted, p_max_payload_bytes,
            p_retention_hours)
    on conflict (name) do nothing
    returning * into v_row;
    if found then
      return next v_row; -- created: no entry can exist yet
      return;
    end if;
    -- It exists: lock the row first, so a concurrent upsert cannot change it between the check and the update.
    select * into v_old from {{schema}}.namespaces n where n.name = p_name for update;
    exit when found; -- else deleted meanwhile: create it
  end loop;

  if not p_force and (v_old.partitions <> p_partitions or v_old.ordering <> p_ordering) then
    if current_setting('transaction_isolation') <> 'read committed' then
      raise exception 'walbox: changing partitions or ordering of namespace "%" needs READ COMMITTED, not %',
        p_name, upper(current_setting('transaction_isolation')) using errcode = '0A000';
    end if;
    v_timeout := current_setting('lock_timeout');
    if v_timeout = '0' then
      perform set_config('lock_timeout', '5s', true);
    end if;
    begin
      perform pg_advisory_xact_lock(hashtext('walbox:' || '{{schema_raw}}'), hashtext(p_name));
    exception when lock_not_available then
      raise exception 'walbox: namespace "%" is busy: a transaction appending to it stayed open for over %',
        p_name, current_setting('lock_timeout')
        using errcode = 'WB011', detail = json_build_object('pending', null, 'capped', false)::text;
    end;
    perform set_config('lock_timeout', v_timeout, true);

    select u.pending, u.capped into v_pending, v_capped from {{schema}}.undelivered_count(p_name) u;
    if v_pending > 0 then
      raise exception 'walbox: namespace "%" has % undelivered entries; changing its partitions or ordering now would break per-key order',
        p_name, case when v_capped then 'at least ' else '' end || v_pending
        using errcode = 'WB011', detail = json_build_object('pending', v_pending, 'capped', v_capped)::text;
    end if;
  end if;

  update {{schema}}.namespaces n
     set ordering = p_ordering, partitions = p_partitions, targets = p_targets, retry = p_retry,
         on_exhausted = p_on_exhausted, max_payload_bytes = p_max_payload_bytes,
         retention_hours = p_retention_hours, updated_at = now()
   where n.name = p_name
  returning * into v_row;
  return next v_row;
end;
$$;
