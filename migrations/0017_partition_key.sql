-- walbox 0017: a partition key beside the ordering key.
--
-- An entry may name a partition key: it is then routed to the partition of that value instead of its key's
-- (partition_of), so that related keys (one user's rows across tables) travel through one partition and a
-- source transaction's entries for a target reach its sink together. Stored for the audit trail; null when
-- the key chose the partition.
alter type {{schema}}.append_input add attribute partition_key text;
alter table {{schema}}.entries add column partition_key text;
comment on column {{schema}}.entries.partition_key is
  'walbox: the value whose hash chose the partition, when not the key (see EntryInput.partitionKey)';
