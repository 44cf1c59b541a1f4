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
create or replace function {{schema}}.upsert_namespace(
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
      perform {{schema}}.take_append_lock({{schema}}.append_lock_id(p_name), true);
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
