--[[
  Marks a run quarantined (its record did not parse) without touching the
  record, and returns the summary so the caller can move it in the index.
  The first reason is kept.

  KEYS[1] run   KEYS[2] quarantine   KEYS[3] summary
  ARGV[1] quarantine reason JSON

  Returns {'OK', summary JSON|nil} or {'UNKNOWN_RUN'} (deleted meanwhile).
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end
redis.call('SET', KEYS[2], ARGV[1], 'NX')
return {'OK', redis.call('GET', KEYS[3])}
