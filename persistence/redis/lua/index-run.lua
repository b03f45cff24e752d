--[[
  Puts a run in the index sets given, scored by updatedAt, and takes it out
  of the sets it was in before. A late call with an older record version
  than the indexed one changes nothing.

  Runs on the {index} slot, after the run's own script succeeded: the run
  record stays the truth, and list() re-checks every listed run against it.
  The previous sets are read from the entry this script wrote, so their
  names (built by keys.ts) share the {index} hash tag. A listing that found
  the run in a set it does not belong in (an index left behind by a crash or
  by hand) names that set too, to be left.

  KEYS[1] entries hash
  KEYS[2 .. n+1] the n sets the run belongs in
  KEYS[n+2 ..] sets the run was seen in and must leave unless it belongs there
  ARGV[1] run id   ARGV[2] record version   ARGV[3] updatedAt   ARGV[4] n

  Returns 1 when indexed, 0 when the index already had a newer version.
]]
local n = tonumber(ARGV[4])
local previous = redis.call('HGET', KEYS[1], ARGV[1])
local stale = {}
if previous then
  local ok, entry = pcall(cjson.decode, previous)
  if ok and type(entry) == 'table' then
    if type(entry.v) == 'number' and entry.v > tonumber(ARGV[2]) then
      return 0
    end
    if type(entry.keys) == 'table' then
      stale = entry.keys
    end
  end
end
for i = n + 2, #KEYS do
  stale[#stale + 1] = KEYS[i]
end
for _, key in ipairs(stale) do
  redis.call('ZREM', key, ARGV[1])
end

local sets = {}
for i = 2, n + 1 do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[1])
  sets[#sets + 1] = KEYS[i]
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({v = tonumber(ARGV[2]), keys = sets}))
return 1
