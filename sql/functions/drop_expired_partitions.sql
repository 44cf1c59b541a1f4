-- Drops day partitions that ended more than the longest retention of the namespaces they hold ago, and only
-- when every target has moved past every entry in them: each cursor's snapshot sees all their writers, and
-- no parked entry (delayed, retrying, blocked, replayed) refers to them. Dead letters keep their own copy.
-- Returns the names of the dropped partitions.
create or replace function {{schema}}.drop_expired_partitions() returns setof text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_part record;
  v_keep_hours int;
  v_blocked boolean;
begin
  for v_part in
    select c.relname as name,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz as upper
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
     where i.inhparent = '{{schema}}.entries'::regclass and c.relname like 'entries_p%'
     order by 1
  loop
    continue when v_part.upper is null or v_part.upper > now();
    execute format('select max(n.retention_hours) from {{schema}}.namespaces n
                     where exists (select 1 from %I.%I e where e.namespace = n.name)',
                   '{{schema_raw}}', v_part.name) into v_keep_hours;
    continue when v_part.upper + make_interval(hours => coalesce(v_keep_hours, 0)) > now();
    execute format(
      'select exists (select 1 from %1$I.%2$I e cross join unnest(e.targets) t(target)
                        where not exists (select 1 from %1$I.cursors c
                                           where c.namespace = e.namespace and c.target = t.target
                                             and c.partition = e.partition
                                             and pg_visible_in_snapshot(e.xid, c.prev_snapshot)))
           or exists (select 1 from %1$I.parked p join %1$I.%2$I e on e.id = p.entry_id)',
      '{{schema_raw}}', v_part.name) into v_blocked;
    continue when v_blocked;
    -- Idempotency keys of dropped entries go with them.
    execute format('delete from %1$I.idempotency_keys k using %1$I.%2$I e where k.entry_id = e.id',
                   '{{schema_raw}}', v_part.name);
    execute format('drop table %I.%I', '{{schema_raw}}', v_part.name);
    return next v_part.name;
  end loop;
end;
$$;
