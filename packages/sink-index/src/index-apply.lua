-- Applies the key changes of one source transaction in one namespace to every index of the namespace (or to
-- one generation being rebuilt), all at once. Every key it touches shares the hash tag of KEYS[1] (the
-- namespace), so it runs on a Redis Cluster too.
--
-- KEYS[1]  the namespace's meta hash: cur:<index> (the generation lookups read; '0' when unset), build:<index>
--          (the generation a rebuild fills, written alongside), next:<index>
-- ARGV[1]  the prefix of every key of the namespace, '<keyPrefix>{<namespace>}:'
-- ARGV[2]  'live' (every generation of each index) or 'gen' (only generation ARGV[3], which must be building)
-- ARGV[3]  the generation for 'gen'
-- ARGV[4]  '1': write only where the key has no record yet (a snapshot row without a version)
-- ARGV[5]  'fail' (a claim of a unique value another key holds writes nothing) or 'report' (write, report)
-- ARGV[6]  the number of changes; then per change: the key, the entry id (a bigint in decimal, no sign, no
--          leading zeros), the number of indexes, then per index: its name, '1' if unique, the key's values
--          encoded as '<byte length>:<value>' one after the other
--
-- Per (index, generation) a key has a record in the hash '<prefix><index>:<gen>:k': '<id>|<encoded values>',
-- kept after a delete (no values) as a tombstone, so that an older entry delivered again is refused; each
-- value has the set '<prefix><index>:<gen>:v:<value>' of the keys holding it (the value is the last part of
-- the name, after parts of fixed form, so every value names its own key); a unique index's values held by
-- more than one key are listed in the set '<prefix><index>:<gen>:dup'.
--
-- Returns {'applied' | 'refused', conflicts}: conflicts flattened as index, value, the claiming entry's id,
-- n, then the n keys that hold the value once the changes are applied.
local meta, base, mode, gen = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local ifAbsent, policy = ARGV[4] == '1', ARGV[5]

-- Ids compared as decimal strings, by length then digit by digit: Lua numbers are doubles.
local function above(a, b)
  return #a > #b or (#a == #b and a > b)
end

local function decode(s)
  local out, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    local len = tonumber(string.sub(s, pos, colon - 1))
    out[#out + 1] = string.sub(s, colon + 1, colon + len)
    pos = colon + len + 1
  end
  return out
end

local function set(list)
  local t = {}
  for _, v in ipairs(list) do t[v] = true end
  return t
end

-- A key's stored version and encoded values in one generation of an index, or nil.
local function read(index, g, key)
  local rec = redis.call('HGET', base .. index .. ':' .. g .. ':k', key)
  if not rec then return nil end
  local bar = string.find(rec, '|', 1, true)
  return string.sub(rec, 1, bar - 1), string.sub(rec, bar + 1)
end

local function write(index, g, unique, key, id, enc)
  local seen, old = read(index, g, key)
  if seen and (ifAbsent or not above(id, seen)) then return end
  local prefix = base .. index .. ':' .. g
  local olds, news = decode(old or ''), decode(enc)
  local oldset, newset = set(olds), set(news)
  for _, v in ipairs(olds) do
    if not newset[v] then redis.call('SREM', prefix .. ':v:' .. v, key) end
  end
  for _, v in ipairs(news) do
    if not oldset[v] then
      redis.call('SADD', prefix .. ':v:' .. v, key)
      if unique and redis.call('SCARD', prefix .. ':v:' .. v) > 1 then redis.call('SADD', prefix .. ':dup', v) end
    end
  end
  redis.call('HSET', prefix .. ':k', key, id .. '|' .. enc)
end

-- writes: {index, unique, key, id, enc}
local writes, pos = {}, 7
for _ = 1, tonumber(ARGV[6]) do
  local key, id, n = ARGV[pos], ARGV[pos + 1], tonumber(ARGV[pos + 2])
  pos = pos + 3
  for _ = 1, n do
    writes[#writes + 1] = { ARGV[pos], ARGV[pos + 1] == '1', key, id, ARGV[pos + 2] }
    pos = pos + 3
  end
end

if mode == 'gen' then
  for _, w in ipairs(writes) do
    if redis.call('HGET', meta, 'build:' .. w[1]) ~= gen then
      return redis.error_reply('GENERATION_GONE generation ' .. gen .. ' of ' .. w[1] .. ' is not being built')
    end
    write(w[1], gen, w[2], w[3], w[4], w[5])
  end
  return { 'applied', {} }
end

-- Live. The generations of each index; then, in the current one, the claims of unique values, checked against
-- the state all the changes leave (two keys swapping a value in one transaction is no violation).
local cur, build, moving, checks = {}, {}, {}, {}
for _, w in ipairs(writes) do
  local index, unique, key, id, enc = w[1], w[2], w[3], w[4], w[5]
  if cur[index] == nil then
    cur[index] = redis.call('HGET', meta, 'cur:' .. index) or '0'
    build[index] = redis.call('HGET', meta, 'build:' .. index)
    moving[index] = {}
  end
  if unique then
    local seen, old = read(index, cur[index], key)
    if not seen or above(id, seen) then
      local news, oldset = decode(enc), set(decode(old or ''))
      moving[index][key] = set(news)
      for _, v in ipairs(news) do
        if not oldset[v] then checks[#checks + 1] = { index, v, id } end
      end
    elseif seen == id and policy == 'report' then
      -- The same entry again (its report may have been lost): report what it holds that is still contested.
      for _, v in ipairs(decode(old)) do checks[#checks + 1] = { index, v, id } end
    end
  end
end
local conflicts, reported = {}, {}
for _, c in ipairs(checks) do
  local index, v = c[1], c[2]
  if not reported[index .. ':' .. v] then
    local holders, list = {}, {}
    for _, m in ipairs(redis.call('SMEMBERS', base .. index .. ':' .. cur[index] .. ':v:' .. v)) do
      if moving[index][m] == nil or moving[index][m][v] then holders[m] = true end
    end
    for k, values in pairs(moving[index]) do
      if values[v] then holders[k] = true end
    end
    for k in pairs(holders) do list[#list + 1] = k end
    if #list > 1 then
      reported[index .. ':' .. v] = true
      table.sort(list)
      for _, x in ipairs({ index, v, c[3], tostring(#list) }) do conflicts[#conflicts + 1] = x end
      for _, k in ipairs(list) do conflicts[#conflicts + 1] = k end
    end
  end
end
if #conflicts > 0 and policy == 'fail' then return { 'refused', conflicts } end
for _, w in ipairs(writes) do
  write(w[1], cur[w[1]], w[2], w[3], w[4], w[5])
  if build[w[1]] then write(w[1], build[w[1]], w[2], w[3], w[4], w[5]) end
end
return { 'applied', conflicts }
