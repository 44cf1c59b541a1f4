-- PUBLIC gets nothing in walbox's schema. Postgres grants EXECUTE on every new function to PUBLIC, and the
-- append path runs with its owner's rights (security definer): anyone with USAGE on the schema could
-- otherwise append, and read the audit view's delivery state. Rights come from the roles that
-- `walbox roles` creates or prints (docs/security.md): producer, dispatcher, auditor. Applied on every
-- migrate, after the functions and views, so a function created anew is covered too.
revoke all on all functions in schema {{schema}} from public;
revoke all on all tables in schema {{schema}} from public;
revoke all on all sequences in schema {{schema}} from public;
