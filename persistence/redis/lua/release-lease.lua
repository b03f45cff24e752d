--[[
  Gives a lease up if its token is still current. The hash stays, with
  expiresAt 0, so the next holder's token is higher than this one.

  KEYS[1] lease
  ARGV[1] token

  Returns 1 when released, 0 when the token was no longer current.
]]
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'expiresAt', '0')
return 1
