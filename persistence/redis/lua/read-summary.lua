--[[
  Reads what a listing needs of one run: its summary and whether it is
  quarantined, from one consistent moment.

  KEYS[1] summary   KEYS[2] quarantine

  Returns {summary JSON|nil, 1|0}.
]]
return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2])}
