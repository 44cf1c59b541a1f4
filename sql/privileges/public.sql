-- PUBLIC gets nothing in walbox's schema. Postgres grants EXECUTE on every new function to PUBLIC, and the
-- append path runs with its owner's rights (security definer): anyone with USAGE on the schema could
-- otherwise append, and read the audit view's delivery state. Rights come from the roles that
-- `walbox roles` creates or prints (docs/security.md): producer, dispatcher, auditor. Applied on every
-- migrate, after the functions and views, so a function created anew is covered too.
revoke all on all functions in schema {{schema}} from public;

-- Tables and sequences get no PUBLIC rights by default; revoke any that were granted by hand. (Only where
-- PUBLIC holds some: a REVOKE on a table with default rights writes them out as an explicit list, and the
-- day partitions created before and after this would then differ.)
do $$
declare
  r record;
begin
  for r in
    select c.oid::regclass as name, c.relkind
      from pg_class c
     where c.relnamespace = '{{schema}}'::regnamespace
       and exists (select 1 from aclexplode(c.relacl) a where a.grantee = 0)
  loop
    execute format('revoke all on %s %s from public', case when r.relkind = 'S' then 'sequence' else 'table' end,
                   r.name);
  end loop;
end $$;
