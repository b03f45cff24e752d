--[[
  Gives back a concurrency slot of a shared rate limit.

  KEYS[1] holders hash   ARGV[1] holder

  Returns {'OK'}.
]]
redis.call('HDEL', KEYS[1], ARGV[1])
return {'OK'}
