-- Records that inbox p_inbox processed message p_message_id, in the caller's transaction: true the first time,
-- false when it was accepted before (by a committed transaction) or is being accepted by one still open (this
-- call then waits for it: committed, false; rolled back, true). Messages are unique per inbox across day
-- partitions, which a unique index cannot say: a transaction-level advisory lock per (inbox, message) makes
-- check-then-insert exact, and READ COMMITTED lets the check after the wait see the other's commit. Under
-- REPEATABLE READ or SERIALIZABLE that check would read the transaction's older snapshot, so those are refused
-- (WB020) rather than let a duplicate through. p_retention_days, when given, sets the inbox's retention.
create or replace function {{schema}}.inbox_accept(p_inbox text, p_message_id text, p_retention_days int default null)
returns boolean
language plpgsql as $$
begin
  if p_inbox is null or p_inbox !~ '^[a-z][a-z0-9_.-]{0,62}$' then
    raise exception 'walbox: invalid inbox name "%"', p_inbox using errcode = 'WB021';
  end if;
  if p_message_id is null or octet_length(p_message_id) not between 1 and 512 then
    raise exception 'walbox: inbox "%": a message id is 1 to 512 bytes', p_inbox using errcode = 'WB021';
  end if;
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'walbox: inbox "%": accept needs READ COMMITTED, not %', p_inbox,
      upper(current_setting('transaction_isolation')) using errcode = 'WB020';
  end if;
  perform pg_advisory_xact_lock(hashtext('walbox-inbox:' || '{{schema_raw}}'), hashtext(p_inbox || ':' || p_message_id));
  if exists (select 1 from {{schema}}.inbox_messages m where m.inbox = p_inbox and m.message_id = p_message_id) then
    return false;
  end if;
  if not exists (select 1 from {{schema}}.inboxes i
                  where i.name = p_inbox and (p_retention_days is null or i.retention_days = p_retention_days)) then
    insert into {{schema}}.inboxes (name, retention_days) values (p_inbox, coalesce(p_retention_days, 7))
    on conflict (name) do update set retention_days = coalesce(p_retention_days, {{schema}}.inboxes.retention_days);
  end if;
  insert into {{schema}}.inbox_messages (inbox, message_id) values (p_inbox, p_message_id);
  return true;
end;
$$;
