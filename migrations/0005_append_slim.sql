-- walbox 0005: appends can return only what the writer does not already know.
--
-- append_json gained a parameter, p_slim (see sql/functions/append_json.sql). A new argument list is a new
-- function beside the old one, and a call with one argument would then be ambiguous, so the old signature
-- is dropped here; the SQL files create the current one after the migrations. "if exists": a schema created
-- by this version of walbox never had it.
drop function if exists {{schema}}.append_json(json);
