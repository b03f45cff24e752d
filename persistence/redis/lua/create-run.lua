--[[
  Stores a new run at version 1, with its summary beside it.

  KEYS[1] run        KEYS[2] summary
  ARGV[1] record JSON
  ARGV[2] {version, summary} JSON

  Returns {'OK'} or {'RUN_EXISTS'}.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'RUN_EXISTS'}
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return {'OK'}
