-- Who changed what, when, in which transaction: one row per log entry, with its delivery per target
-- ('applied', 'pending' or 'dead', see delivery_status). New columns go at the end, never between these:
-- create or replace view can only add columns after the existing ones.
create or replace view {{schema}}.audit as
select e.id,
       e.created_at   as changed_at,
       e.actor,
       e.namespace,
       e.key,
       e.op,
       e.xid          as transaction_id,
       e.before,
       e.payload      as after,
       e.headers,
       e.targets,
       e.deliver_at,
       e.idempotency_key,
       {{schema}}.delivery_status(e.id, e.namespace, e.partition, e.xid, e.targets) as delivery,
       -- The role that logged in (session_user) when the entry was appended: what the actor cannot fake.
       -- Null for entries appended before walbox 0013.
       e.session_role,
       -- The value that chose the partition when not the key (EntryInput.partitionKey); null before 0017.
       e.partition_key
  from {{schema}}.entries e;

comment on view {{schema}}.audit is
  'walbox audit trail: one row per log entry (who changed what, when, in which transaction)';
