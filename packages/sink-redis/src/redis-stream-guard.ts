import { createHash } from 'node:crypto';

/**
 * XADDs a batch's entries for one stream, in log order, skipping every entry whose id is not above the last id
 * added for its (namespace, key), atomically with recording the new last id: a batch applied again (the
 * dispatcher crashed after the XADD and before its cursor commit) adds nothing twice.
 *
 * KEYS[1] the stream, KEYS[2] the guard hash (field: namespace and key, value: the last entry id added).
 * ARGV: MAXLEN ('' for none), '~' or '=', entry count, then per entry: guard field, id, field count, fields.
 * Returns { added, skipped, then per failed entry: its 1-based index and the error }. An XADD error
 * (WRONGTYPE, OOM...) stops that key: its later entries in the batch are neither added nor recorded.
 *
 * Ids are Postgres bigints compared as decimal strings (longer is greater, then byte order): Lua numbers are
 * doubles, which cannot tell two ids above 2^53 apart.
 */
export const STREAM_GUARD = `
local function newer(id, last)
  if not last then return true end
  if #id ~= #last then return #id > #last end
  return id > last
end
local maxlen, mode, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local last, broken, out = {}, {}, { 0, 0 }
local pos = 4
for k = 1, n do
  local field, id, count = ARGV[pos], ARGV[pos + 1], tonumber(ARGV[pos + 2])
  if not broken[field] then
    if last[field] == nil then last[field] = redis.call('HGET', KEYS[2], field) or false end
    if newer(id, last[field] or nil) then
      local args = { 'XADD', KEYS[1] }
      if maxlen ~= '' then
        args[#args + 1] = 'MAXLEN'
        args[#args + 1] = mode
        args[#args + 1] = maxlen
      end
      args[#args + 1] = '*'
      for j = 1, count * 2 do args[#args + 1] = ARGV[pos + 2 + j] end
      local reply = redis.pcall(unpack(args))
      if type(reply) == 'table' and reply.err then
        broken[field] = true
        out[#out + 1] = k
        out[#out + 1] = reply.err
      else
        redis.call('HSET', KEYS[2], field, id)
        last[field] = id
        out[1] = out[1] + 1
      end
    else
      out[2] = out[2] + 1
    end
  end
  pos = pos + 3 + count * 2
end
return out
`;

export const STREAM_GUARD_SHA = createHash('sha1').update(STREAM_GUARD).digest('hex');
