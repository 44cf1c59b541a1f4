-- Who an entry that names no actor is recorded as: the session's walbox.actor setting, else the database user.
create or replace function {{schema}}.default_actor() returns text
language sql stable as $$
  select coalesce(nullif(current_setting('walbox.actor', true), ''), session_user)
$$;
