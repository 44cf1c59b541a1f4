-- walbox 0013: the log records who really appended each entry, beside the actor the caller claimed.
--
-- session_role is session_user: the role that logged in. Unlike current_user it stays the caller's inside a
-- security-definer function (the append path may run with its owner's rights) and after SET ROLE, and only a
-- superuser can change it (SET SESSION AUTHORIZATION). A column default is enough: every insert into the log
-- names its columns, and this one is left to its default.
--
-- Added without a default first, then given one: a default in ADD COLUMN would be evaluated once, by the
-- migrating role, and shown for every existing row; their login is not known, so it stays null.
alter table {{schema}}.entries add column session_role text;
alter table {{schema}}.entries alter column session_role set default session_user;
