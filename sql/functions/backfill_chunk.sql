-- Appends the next p_limit rows of a captured table after key p_after (null: from the start), in key
-- order, as 'upsert' entries of p_namespace, and records the progress in backfills. Returns how many rows it
-- appended and the last key (null when the table is done).
--
-- The rows are read FOR SHARE: a writer changing one of them waits until this chunk's transaction commits,
-- so its captured entry gets a later id than the backfilled one and the version guard keeps the newer
-- value; a writer that committed first is read here with its change. Either way a backfilled row never
-- overwrites a newer captured change. Only the chunk's rows are locked, and only until its commit: writers
-- go on around it. The key is compared in the column's own type, so the scan follows its index.
create or replace function {{schema}}.backfill_chunk(
  p_table regclass, p_namespace text, p_key_column text, p_after text, p_limit int
) returns table (rows_appended int, last_key text)
language plpgsql as $$
declare
  v_type text;
  v_entries json;
  v_count int;
  v_last text;
begin
  select format_type(a.atttypid, a.atttypmod) into v_type
    from pg_attribute a where a.attrelid = p_table and a.attname = p_key_column and not a.attisdropped;
  if v_type is null then
    raise exception 'walbox: table % has no column "%"', p_table, p_key_column using errcode = '42703';
  end if;
  execute format(
    'select json_agg(json_build_object(''namespace'', $1, ''key'', c.k, ''op'', ''upsert'', ''payload'', c.r,
                                       ''headers'', json_build_object(''source'', ''backfill'', ''table'', $2::text))
                     order by c.o),
            count(*), (array_agg(c.k order by c.o desc))[1]
       from (select t.%1$I::text as k, t.%1$I as o, to_jsonb(t) as r
               from %2$s t
              where $3::text is null or t.%1$I > $3::%3$s
              order by t.%1$I
              limit $4
                for share) c',
    p_key_column, p_table, v_type)
    into v_entries, v_count, v_last
    using p_namespace, p_table, p_after, p_limit;

  if v_count > 0 then
    perform 1 from {{schema}}.append_json(v_entries, true);
  end if;
  update {{schema}}.backfills b
     set last_key = coalesce(v_last, b.last_key), rows_done = b.rows_done + v_count, updated_at = now(),
         finished_at = case when v_count < p_limit then now() end
   where b.table_name = p_table::text and b.namespace = p_namespace;
  rows_appended := v_count;
  last_key := case when v_count < p_limit then null else v_last end;
  return next;
end;
$$;
