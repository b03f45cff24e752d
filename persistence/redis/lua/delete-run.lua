--[[
  Deletes a run and everything beside it. With a cut-off (purge), only a
  run that is done, last updated before the cut-off, and not quarantined.

  KEYS[1] run   KEYS[2] summary   KEYS[3] quarantine   KEYS[4..] the other per-run keys
  ARGV[1] 'always', or the cut-off in epoch ms

  Returns 1 when deleted, 0 otherwise.
]]
if ARGV[1] ~= 'always' then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    return 0
  end
  local ok, stored = pcall(cjson.decode, redis.call('GET', KEYS[2]) or '')
  if not ok or type(stored) ~= 'table' or type(stored.summary) ~= 'table' then
    return 0
  end
  local s = stored.summary
  if s.status ~= 'done' or type(s.updatedAt) ~= 'number' or s.updatedAt >= tonumber(ARGV[1]) then
    return 0
  end
end
local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', unpack(KEYS))
return existed
