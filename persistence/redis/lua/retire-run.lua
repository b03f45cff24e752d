--[[
  One retention step on one run, decided against the run as stored now: it
  acts only on a run that is done, not quarantined, and last updated before
  the cut-off. 'delete' removes the run and everything beside it;
  'drop-trace' removes its trace stream only (the record, transcript and
  journal stay). A dry run answers the same and changes nothing.

  KEYS[1] run   KEYS[2] summary   KEYS[3] quarantine   KEYS[4] trace   KEYS[5..] the other per-run keys
  ARGV[1] 'delete' or 'drop-trace'   ARGV[2] the cut-off in epoch ms   ARGV[3] '1' for a dry run, else '0'

  Returns 'deleted', 'trace-dropped', 'no-trace' or 'ineligible'.
]]
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[3]) == 1 then
  return 'ineligible'
end
local ok, stored = pcall(cjson.decode, redis.call('GET', KEYS[2]) or '')
if not ok or type(stored) ~= 'table' or type(stored.summary) ~= 'table' then
  return 'ineligible'
end
local s = stored.summary
if s.status ~= 'done' or type(s.updatedAt) ~= 'number' or s.updatedAt >= tonumber(ARGV[2]) then
  return 'ineligible'
end
local dry = ARGV[3] == '1'
if ARGV[1] == 'delete' then
  if not dry then
    redis.call('DEL', unpack(KEYS))
  end
  return 'deleted'
end
if redis.call('EXISTS', KEYS[4]) == 0 then
  return 'no-trace'
end
if not dry then
  redis.call('DEL', KEYS[4])
end
return 'trace-dropped'
