--[[
  Drops journal entries of steps below a step, atomically. An entry that
  does not decode is kept: reading it raises CorruptRecordError.

  KEYS[1] journal
  ARGV[1] the step below which entries go

  Returns how many entries were dropped.
]]
local below = tonumber(ARGV[1])
local fields = redis.call('HGETALL', KEYS[1])
local dropped = 0
for i = 1, #fields, 2 do
  local ok, entry = pcall(cjson.decode, fields[i + 1])
  if ok and type(entry) == 'table' and type(entry.step) == 'number' and entry.step < below then
    redis.call('HDEL', KEYS[1], fields[i])
    dropped = dropped + 1
  end
end
return dropped
