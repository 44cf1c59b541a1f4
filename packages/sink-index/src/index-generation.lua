-- A rebuild's steps on the namespace's meta hash KEYS[1] (see index-apply.lua). ARGV[1] the step, ARGV[2] the
-- index, ARGV[3] the generation (or, for 'begin', '1' to take over a generation another rebuild is building).
--
-- begin:   marks a new generation as building (live writes then go to it too); returns {gen, taken over or ''}
-- finish:  makes the building generation ARGV[3] the one lookups read; returns the one it replaces
-- abandon: stops building generation ARGV[3] (its keys are removed by the caller)
-- state:   {current, building or ''}
local meta, step, index, arg = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local building = redis.call('HGET', meta, 'build:' .. index)
local current = redis.call('HGET', meta, 'cur:' .. index) or '0'
if step == 'state' then
  return { current, building or '' }
elseif step == 'begin' then
  if building and arg ~= '1' then
    return redis.error_reply('REBUILD_RUNNING generation ' .. building .. ' of ' .. index .. ' is being built')
  end
  local gen = redis.call('HINCRBY', meta, 'next:' .. index, 1)
  if gen <= tonumber(current) then
    gen = tonumber(current) + 1
    redis.call('HSET', meta, 'next:' .. index, gen)
  end
  redis.call('HSET', meta, 'build:' .. index, gen)
  return { tostring(gen), building or '' }
elseif step == 'finish' then
  if building ~= arg then
    return redis.error_reply('GENERATION_GONE generation ' .. arg .. ' of ' .. index .. ' is not being built')
  end
  redis.call('HSET', meta, 'cur:' .. index, arg)
  redis.call('HDEL', meta, 'build:' .. index)
  return current
elseif step == 'abandon' then
  if building == arg then redis.call('HDEL', meta, 'build:' .. index) end
  return 1
end
return redis.error_reply('ERR unknown step ' .. tostring(step))
