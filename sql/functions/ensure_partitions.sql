-- Creates the day partitions of the log from today up to p_days_ahead days ahead; returns how many it
-- created. A day whose rows already landed in the default partition is skipped (attaching it would fail);
-- those rows stay readable there. migrate() and the dispatchers' maintenance both call it with no lock in
-- common, so a day another session creates meanwhile can still fail here (42P07 after waiting for its lock
-- on the parent, 23505 on pg_class's name index without): it is there, so it is skipped.
create or replace function {{schema}}.ensure_partitions(p_days_ahead int default 7) returns int
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_day date;
  v_name text;
  v_created int := 0;
begin
  for v_day in select generate_series(current_date, current_date + p_days_ahead, interval '1 day')::date loop
    v_name := 'entries_p' || to_char(v_day, 'YYYYMMDD');
    continue when to_regclass(format('%I.%I', '{{schema_raw}}', v_name)) is not null;
    continue when exists (
      select 1 from {{schema}}.entries_default
      where created_at >= v_day and created_at < v_day + 1
    );
    begin
      execute format(
        'create table %I.%I partition of %I.entries for values from (%L) to (%L)',
        '{{schema_raw}}', v_name, '{{schema_raw}}', v_day::timestamptz, (v_day + 1)::timestamptz
      );
    exception when duplicate_table or unique_violation then
      continue;
    end;
    v_created := v_created + 1;
  end loop;
  return v_created;
end;
$$;
