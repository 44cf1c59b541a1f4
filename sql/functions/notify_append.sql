-- Wakes dispatchers once per appending statement (not per entry). The payload lists "namespace:partition"
-- items (or bare namespaces, meaning all their partitions, when the list would not fit NOTIFY's 8000
-- bytes). Sessions that must not pay NOTIFY's commit-time lock (or that run behind PgBouncer in
-- transaction mode) set walbox.notify = 'off'; dispatchers then find the work by polling.
create or replace function {{schema}}.notify_append(p_items text[]) returns void
language plpgsql as $$
declare
  v_payload text := array_to_string(p_items, ',');
begin
  if coalesce(current_setting('walbox.notify', true), '') <> 'off' then
    if octet_length(v_payload) > 7900 then
      select string_agg(distinct split_part(i, ':', 1), ',') into v_payload from unnest(p_items) i;
    end if;
    perform pg_notify('walbox_' || '{{schema_raw}}', v_payload);
  end if;
end;
$$;
