-- Wakes dispatchers once per appending statement (not per entry). The payload lists "namespace:partition"
-- items (or bare namespaces, meaning all their partitions, when the list would not fit NOTIFY's 8000
-- bytes).
--
-- Every NOTIFY takes a database-wide lock at commit, held until the commit record is flushed, so committing
-- transactions that notified queue behind each other. walbox.notify says when to pay it:
-- - unset or 'auto': leave out the partitions whose every target's drain is busy (cursors.busy_until, set by
--   record_step while a drain keeps finding entries: it polls them every busyPollMs anyway); no NOTIFY at
--   all when none is left. A steady stream of appends then sends almost none.
-- - 'on': notify every partition written to (lowest latency for a drain that has just gone quiet).
-- - 'off': never (behind PgBouncer in transaction mode, or with dispatchers in wakeup 'poll'); dispatchers
--   then find the work by polling.
create or replace function {{schema}}.notify_append(p_items text[]) returns void
language plpgsql as $$
declare
  v_mode text := coalesce(current_setting('walbox.notify', true), '');
  v_items text[] := p_items;
  v_payload text;
begin
  if v_mode = 'off' then
    return;
  end if;
  if v_mode <> 'on' then
    select array_agg(x.item) into v_items
      from (select i as item, split_part(i, ':', 1) as ns, nullif(split_part(i, ':', 2), '')::int as p
              from unnest(p_items) i) x
      join {{schema}}.namespaces n on n.name = x.ns
     where x.p is null
        or not (n.targets <@ array(select c.target from {{schema}}.cursors c
                                    where c.namespace = x.ns and c.partition = x.p
                                      and c.busy_until > clock_timestamp()));
    if v_items is null then
      return;
    end if;
  end if;
  v_payload := array_to_string(v_items, ',');
  if octet_length(v_payload) > 7900 then
    select string_agg(distinct split_part(i, ':', 1), ',') into v_payload from unnest(v_items) i;
  end if;
  perform pg_notify('walbox_' || '{{schema_raw}}', v_payload);
end;
$$;
