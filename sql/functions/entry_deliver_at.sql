-- When an appended entry is due: its deliver_at if given, else now plus its delay and a random part of its
-- jitter (whole milliseconds, 0 to jitter_ms), else null (at once).
create or replace function {{schema}}.entry_deliver_at(p_deliver_at timestamptz, p_delay_ms bigint,
                                                       p_jitter_ms bigint)
returns timestamptz
language sql as $$
  select case
           when p_deliver_at is not null then p_deliver_at
           when coalesce(p_delay_ms, 0) + coalesce(p_jitter_ms, 0) > 0 then
             clock_timestamp() + make_interval(secs => (coalesce(p_delay_ms, 0)
               + floor(random() * (coalesce(p_jitter_ms, 0) + 1))) / 1000.0)
         end
$$;
