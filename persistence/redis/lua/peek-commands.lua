--[[
  The run's queued commands, oldest first, left in the queue. A command
  queued by a release before ids (plain Command JSON) is given an id here,
  in place, so that a commit can acknowledge it like any other.

  KEYS[1] commands   KEYS[2] command seq

  Returns the list of command JSON, each starting {"seq":N,
]]
local queued = redis.call('LRANGE', KEYS[1], 0, -1)
for i, item in ipairs(queued) do
  if string.sub(item, 1, 7) ~= '{"seq":' and string.sub(item, 1, 1) == '{' then
    item = '{"seq":' .. redis.call('INCR', KEYS[2]) .. ',' .. string.sub(item, 2)
    redis.call('LSET', KEYS[1], i - 1, item)
    queued[i] = item
  end
end
return queued
