-- The entries of one (namespace, partition) for p_target that a cursor at (p_prev, p_cur, p_after_id) has
-- not offered yet: those written by transactions its prev snapshot does not see, less those in its open
-- window (seen by p_cur) at or before p_after_id. No cursor (p_prev null): the start of the log ('1:1:', as a
-- new cursor), so all of them. The same reading of a cursor as delivery_status(), set-wise.
--
-- The xid conditions are readBatch's: an index range on entries_reader_idx from the snapshot's xmin, so a
-- drained log of millions of entries costs a few index probes. A set-returning SQL function with one SELECT,
-- stable and without SET clauses, is inlined into its caller's query like a view (with the caller's
-- arguments in place of the parameters), so the planner still sees the index conditions.
create or replace function {{schema}}.unoffered_entries(p_namespace text, p_partition int, p_target text,
                                                        p_prev pg_snapshot, p_cur pg_snapshot,
                                                        p_after_id bigint)
returns setof {{schema}}.entries
language sql stable as $$
  select e.*
    from {{schema}}.entries e
   where e.namespace = p_namespace and e.partition = p_partition
     and e.xid >= pg_snapshot_xmin(coalesce(p_prev, '1:1:'))
     and (e.xid >= pg_snapshot_xmax(coalesce(p_prev, '1:1:'))
          or e.xid = any(array(select pg_snapshot_xip(coalesce(p_prev, '1:1:')))))
     and p_target = any(e.targets)
     and not (p_cur is not null and pg_visible_in_snapshot(e.xid, p_cur) and e.id <= coalesce(p_after_id, 0))
$$;
