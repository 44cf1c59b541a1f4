-- Refuses, with WB003 before anything is parsed or locked, an input whose JSON text escapes \u0000 or a lone
-- UTF-16 surrogate: Postgres cannot store either in text or jsonb, and parsing the input would otherwise raise
-- a raw 22P05 or 22P02. The SDK refuses both before sending, naming the field; this guards the SQL callers.
-- Surrogate pairs (a high escape followed by a low one) are fine: they are removed before the check.
create or replace function {{schema}}.raise_unstorable_text(p_json text) returns void
language plpgsql immutable as $$
begin
  if strpos(p_json, E'\\u') > 0
     and regexp_replace(replace(p_json, E'\\\\', ''),
           E'\\\\u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2}', '', 'g')
         ~ E'\\\\u(0000|[dD][89a-fA-F])' then
    raise exception 'walbox: an entry contains an escaped \u0000 or lone UTF-16 surrogate, which Postgres cannot store'
      using errcode = 'WB003';
  end if;
end;
$$;
