--[[
  Reads what a listing needs of one run: its summary, whether it is
  quarantined, and whether its record exists (a summary that is missing
  while the record is there is rebuilt from the record), from one
  consistent moment.

  KEYS[1] summary   KEYS[2] quarantine   KEYS[3] run

  Returns {summary JSON|nil, 1|0, 1|0}.
]]
return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2]), redis.call('EXISTS', KEYS[3])}
