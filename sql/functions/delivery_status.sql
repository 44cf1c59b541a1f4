-- Per target: 'applied', 'pending' or 'dead' (dead-lettered, blocking, or discarded by an operator: the
-- cursor has passed a discarded entry, but the target never applied it), for the audit view. A discarded
-- entry queued again by a replay shows 'pending' meanwhile, and 'dead' again afterwards: nothing records
-- that the replayed copy was applied.
create or replace function {{schema}}.delivery_status(p_id bigint, p_namespace text, p_partition int, p_xid xid8,
                                           p_targets text[])
returns jsonb
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select coalesce(jsonb_object_agg(t.target, case
           when exists (select 1 from {{schema}}.dead_letters d
                         where d.entry_id = p_id and d.target = t.target and d.status in ('dead', 'blocking'))
             then 'dead'
           when exists (select 1 from {{schema}}.parked p
                         where p.namespace = p_namespace and p.target = t.target
                           and p.partition = p_partition and p.entry_id = p_id)
             then 'pending'
           when exists (select 1 from {{schema}}.dead_letters d
                         where d.namespace = p_namespace and d.target = t.target and d.status = 'discarded'
                           and d.entry_id = p_id)
             then 'dead'
           when exists (select 1 from {{schema}}.cursors c
                         where c.namespace = p_namespace and c.target = t.target and c.partition = p_partition
                           and (pg_visible_in_snapshot(p_xid, c.prev_snapshot)
                                or (c.cur_snapshot is not null and pg_visible_in_snapshot(p_xid, c.cur_snapshot)
                                    and p_id <= c.after_id)))
             then 'applied'
           else 'pending' end), '{}'::jsonb)
    from unnest(p_targets) as t(target);
$$;
