-- Inbox upkeep, run by maintenance: creates the inbox's day partitions from today to p_days_ahead days ahead,
-- and drops those that ended more than the longest inbox retention ago (7 days without inboxes). A message
-- delivered again after its partition was dropped is accepted again: keep retention above the longest time
-- a bus may redeliver. Returns the dropped partitions' names.
create or replace function {{schema}}.inbox_partitions(p_days_ahead int default 7) returns setof text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_day date;
  v_name text;
  v_part record;
  v_keep int;
begin
  for v_day in select generate_series(current_date, current_date + p_days_ahead, interval '1 day')::date loop
    v_name := 'inbox_messages_p' || to_char(v_day, 'YYYYMMDD');
    continue when to_regclass(format('%I.%I', '{{schema_raw}}', v_name)) is not null;
    continue when exists (select 1 from {{schema}}.inbox_messages_default
                           where received_at >= v_day and received_at < v_day + 1);
    begin
      execute format('create table %I.%I partition of %I.inbox_messages for values from (%L) to (%L)',
        '{{schema_raw}}', v_name, '{{schema_raw}}', v_day::timestamptz, (v_day + 1)::timestamptz);
    exception when duplicate_table or unique_violation then
      continue;
    end;
  end loop;
  select coalesce(max(retention_days), 7) into v_keep from {{schema}}.inboxes;
  for v_part in
    select c.relname as name,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz as upper
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
     where i.inhparent = '{{schema}}.inbox_messages'::regclass and c.relname like 'inbox_messages_p%'
  loop
    continue when v_part.upper is null or v_part.upper + make_interval(days => v_keep) > now();
    execute format('drop table %I.%I', '{{schema_raw}}', v_part.name);
    return next v_part.name;
  end loop;
end;
$$;
