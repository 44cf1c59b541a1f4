-- Reads an index at the generation lookups use, in one step with the swap a rebuild makes.
--
-- KEYS[1]  the namespace's meta hash (see index-apply.lua)
-- ARGV[1]  'lookup' or 'violations'
-- ARGV[2]  the prefix of the namespace's keys; ARGV[3] the index; ARGV[4] the value (lookup)
--
-- lookup: the keys holding the value. violations: {value, {keys}} for each value of the index held by more
-- than one key (values that no longer are leave the list of suspects on the way).
local meta, base, index = KEYS[1], ARGV[2], ARGV[3]
local prefix = base .. index .. ':' .. (redis.call('HGET', meta, 'cur:' .. index) or '0')
if ARGV[1] == 'lookup' then
  return redis.call('SMEMBERS', prefix .. ':v:' .. ARGV[4])
end
local out = {}
for _, v in ipairs(redis.call('SMEMBERS', prefix .. ':dup')) do
  local keys = redis.call('SMEMBERS', prefix .. ':v:' .. v)
  if #keys > 1 then
    out[#out + 1] = { v, keys }
  else
    redis.call('SREM', prefix .. ':dup', v)
  end
end
return out
