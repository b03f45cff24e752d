--[[
  Removes and returns all queued commands of a run, oldest first, at once:
  two takers never both get the same command.

  KEYS[1] commands

  Returns the list of command JSON.
]]
local taken = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return taken
