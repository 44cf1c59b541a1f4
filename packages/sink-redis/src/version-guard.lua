-- Applies one walbox entry to a Redis key unless an entry as new or newer was applied to it already.
--
-- KEYS[1]  the value key
-- KEYS[2]  its version key: the id of the last entry applied, kept after a delete too (a tombstone), so an
--          older upsert delivered again after a newer delete is refused instead of resurrecting the value
-- ARGV[1]  the entry id: a Postgres bigint in decimal, no sign, no leading zeros
-- ARGV[2]  'upsert' or 'delete'
-- ARGV[3]  the value to SET (upsert; ignored for delete)
-- ARGV[4]  seconds until the value and version keys expire; '0' for never
--
-- Returns 1 when applied, 0 when refused.
--
-- Ids are compared as decimal strings, by length and then digit by digit: Lua numbers are doubles and lose
-- precision above 2^53, while bigint ids go up to 19 digits.
local id = ARGV[1]
local seen = redis.call('GET', KEYS[2])
-- A version that is not an id was written by something else (before 0.2 the value of an entry keyed
-- "a#version" landed on the version key of "a"): it guards nothing, and is overwritten below.
if seen and not string.match(seen, '^[0-9]+$') then
  seen = false
end
if seen and (#seen > #id or (#seen == #id and seen >= id)) then
  return 0
end

local ttl = tonumber(ARGV[4])
if ARGV[2] == 'delete' then
  redis.call('DEL', KEYS[1])
elseif ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[3])
end

if ttl > 0 then
  redis.call('SET', KEYS[2], id, 'EX', ttl)
else
  redis.call('SET', KEYS[2], id)
end
return 1
