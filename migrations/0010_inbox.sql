-- walbox 0010: the inbox, the receiving side of the outbox. A consumer records each message id it processed
-- in its own transaction (inbox_accept in sql/functions/), so a message the bus delivers twice is applied once.
-- Day partitions by received_at, dropped after the longest retention of the inboxes (maintenance).

create table {{schema}}.inboxes (
  name           text primary key check (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  retention_days int not null default 7 check (retention_days between 1 and 3650),
  created_at     timestamptz not null default now()
);

create table {{schema}}.inbox_messages (
  inbox       text not null,
  message_id  text not null,
  received_at timestamptz not null default now(),
  primary key (inbox, message_id, received_at)
) partition by range (received_at);

create table {{schema}}.inbox_messages_default partition of {{schema}}.inbox_messages default;
