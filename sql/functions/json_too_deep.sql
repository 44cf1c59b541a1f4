-- Whether a JSON value nests arrays or objects more than 100 deep (the SDK's maxJsonDepth default), for
-- entry_fault. The jsonpath walk parses the value again, so it runs only for values that could be that deep:
-- longer than 200 bytes with more than 100 opening brackets. Inlined into entry_fault like entry_fault is into
-- the append scan.
create or replace function {{schema}}.json_too_deep(p_json json) returns boolean
language sql immutable parallel safe as $$
  select case when octet_length(p_json::text) > 200
               and octet_length(p_json::text)
                   - octet_length(replace(replace(p_json::text, '[', ''), '{', '')) > 100
              then jsonb_path_exists(p_json::jsonb,
                     'strict $.**{100} ? (@.type() == "array" || @.type() == "object")') end
$$;
