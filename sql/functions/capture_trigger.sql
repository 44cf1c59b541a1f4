-- AFTER ROW trigger body installed by walbox.captureTable() / `walbox capture`.
-- tg_argv[0]: namespace, tg_argv[1]: key column. INSERT and UPDATE append an upsert with the new row as
-- payload (and the old row as before-image); DELETE appends a delete with the old row as before-image.
-- An UPDATE that changes the key appends a delete of the old key first, so derived stores drop it.
create or replace function {{schema}}.capture_trigger() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_namespace text := tg_argv[0];
  v_key_column text := tg_argv[1];
  v_new jsonb;
  v_old jsonb;
  v_headers jsonb := jsonb_build_object(
    'source', 'capture', 'table', tg_table_schema || '.' || tg_table_name, 'operation', lower(tg_op));
begin
  if tg_op in ('UPDATE', 'DELETE') then
    v_old := to_jsonb(old);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    v_new := to_jsonb(new);
  end if;
  if tg_op = 'UPDATE' and v_new = v_old then
    return null; -- nothing changed: nothing to replicate or audit
  end if;
  if tg_op = 'DELETE' or (tg_op = 'UPDATE' and (v_old ->> v_key_column) is distinct from (v_new ->> v_key_column)) then
    perform {{schema}}.append(v_namespace, v_old ->> v_key_column, 'delete', null, v_old, v_headers);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform {{schema}}.append(v_namespace, v_new ->> v_key_column, 'upsert', v_new,
      case when (v_old ->> v_key_column) is not distinct from (v_new ->> v_key_column) then v_old end,
      v_headers);
  end if;
  return null;
end;
$$;
