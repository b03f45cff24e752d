--[[
  Deletes a run and everything beside it (retention's conditional delete is
  retire-run.lua).

  KEYS all the per-run keys

  Returns 1 when the run existed, 0 otherwise.
]]
local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', unpack(KEYS))
return existed
