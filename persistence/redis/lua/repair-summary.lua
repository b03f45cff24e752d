--[[
  Rewrites a run's summary, rebuilt from its record by the caller after the
  stored one did not parse. The summary is derived data and the record is
  the truth, so it is written only while the record is still the one it was
  rebuilt from: a commit in between wrote its own summary with its record.

  KEYS[1] run   KEYS[2] summary
  ARGV[1] the record JSON the summary was rebuilt from
  ARGV[2] {version, summary} JSON

  Returns 1 when written, 0 when the record changed (or went) meanwhile.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
return 1
