-- The rule an entry of an append breaks, or null when it breaks none: append_json and append_one check with
-- this, raise_entry_fault says which error it is. p_namespace is the row of the entry's namespace (all null
-- when there is no such namespace). The rules are checked in this order, so the first one broken is named.
-- One expression without sublinks, so the planner inlines it: append_json checks a batch in one scan.
--
-- The limits are the SDK's defaults (src/entry-encoding.ts, ENTRY_CEILINGS), as constants: an SDK may be
-- configured stricter, never looser. Key, partition key and idempotency key: 1 to 512 bytes (they sit in btree indexes,
-- whose rows must fit 2,704 bytes); op 1 to 64 bytes; actor 1 to 1,024 bytes; delay plus jitter at most 366
-- days; deliver_at within 366 days of now either way, plus 5 minutes for a client clock that disagrees with
-- the server's; payload, before and headers at most 100 arrays and objects deep; and the whole entry (key,
-- op, idempotency key, actor and the JSON text of payload, before and headers, null counting 0) at most the
-- namespace's max_payload_bytes.
--
-- The depth check only runs on JSON of more than 200 bytes with more than 100 `[` and `{` (counted with
-- replace(), several times cheaper than translate()), and then parses it as jsonb for a jsonpath (a container
-- at level 100 is one nested 101 deep): about the cost of the insert's own jsonb parse, for those only. Text Postgres cannot store (\u0000, a lone
-- surrogate escape) cannot reach these rules: parsing append_one's or append_json's JSON input into
-- append_input already refuses it (22P05, 22P02), and append()'s text and jsonb arguments cannot hold it.
create or replace function {{schema}}.entry_fault(p_entry {{schema}}.append_input,
                                                  p_namespace {{schema}}.namespaces)
returns text
language sql stable as $$
  select case
    when p_namespace.name is null then 'unknown namespace'
    when p_entry.key is null or p_entry.key = '' then 'no key'
    when octet_length(p_entry.key) > 512 then 'key too long'
    when p_entry.op is null or p_entry.op = '' then 'no op'
    when octet_length(p_entry.op) > 64 then 'op too long'
    when p_entry.idempotency_key = '' or octet_length(p_entry.idempotency_key) > 512
      then 'bad idempotency key'
    when p_entry.partition_key = '' or octet_length(p_entry.partition_key) > 512 then 'bad partition key'
    when p_entry.actor = '' or octet_length(p_entry.actor) > 1024 then 'bad actor'
    when p_entry.delay_ms < 0 or p_entry.jitter_ms < 0 then 'negative delay'
    -- One at a time, so that the sum cannot overflow a bigint.
    when p_entry.delay_ms > 31622400000 or p_entry.jitter_ms > 31622400000 then 'delay too long'
    when coalesce(p_entry.delay_ms, 0) + coalesce(p_entry.jitter_ms, 0) > 31622400000 then 'delay too long'
    when not (p_entry.deliver_at between statement_timestamp() - interval '366 days 5 minutes'
                                     and statement_timestamp() + interval '366 days 5 minutes')
      then 'deliver_at out of range'
    when not (coalesce(p_entry.targets, '{}') <@ p_namespace.targets) then 'stray target'
    when {{schema}}.json_too_deep(p_entry.payload) then 'payload too deep'
    when {{schema}}.json_too_deep(p_entry.before) then 'before too deep'
    when {{schema}}.json_too_deep(p_entry.headers) then 'headers too deep'
    when octet_length(p_entry.key) + octet_length(p_entry.op)
         + coalesce(octet_length(p_entry.payload::text), 0) + coalesce(octet_length(p_entry.before::text), 0)
         + coalesce(octet_length(p_entry.headers::text), 0)
         + coalesce(octet_length(p_entry.idempotency_key), 0) + coalesce(octet_length(p_entry.actor), 0)
         > p_namespace.max_payload_bytes then 'payload too large'
  end
$$;
