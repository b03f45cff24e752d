--[[
  Takes a deleted run out of every index set it is in: those its index
  entry names, and any others a listing saw it in.

  KEYS[1] entries hash   KEYS[2 ..] sets to leave in any case (the all-runs set at least)
  ARGV[1] run id

  Returns 1 when the run had an index entry, 0 otherwise.
]]
for i = 2, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1])
end
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if not previous then
  return 0
end
local ok, entry = pcall(cjson.decode, previous)
if ok and type(entry) == 'table' and type(entry.keys) == 'table' then
  for _, key in ipairs(entry.keys) do
    redis.call('ZREM', key, ARGV[1])
  end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
