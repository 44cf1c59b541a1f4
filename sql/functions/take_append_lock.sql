-- Takes an append lock (see append_lock_id) until the transaction ends, exclusive or shared. The two-int form,
-- with this schema's class, keeps clear of pg-boss's bigint advisory locks and of other walbox schemas.
-- Inlined by the planner, so it costs what the bare pg_advisory_xact_lock call does.
create or replace function {{schema}}.take_append_lock(p_lock int, p_exclusive boolean) returns void
language sql as $$
  select case when p_exclusive then pg_advisory_xact_lock(hashtext('walbox:' || '{{schema_raw}}'), p_lock)
              else pg_advisory_xact_lock_shared(hashtext('walbox:' || '{{schema_raw}}'), p_lock) end
$$;
