--[[
  Extends a lease this owner still holds (same owner, same token, not
  released), from the Redis server's clock. A released lease stays released:
  a renewal sent before the release and answered after it must not revive it.

  KEYS[1] run   KEYS[2] lease
  ARGV[1] owner   ARGV[2] token   ARGV[3] ttl in ms

  Returns {'OK', owner, token, expiresAt}, {'LOST'} or {'UNKNOWN_RUN'}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end

local current = redis.call('HMGET', KEYS[2], 'owner', 'token', 'expiresAt')
if current[1] ~= ARGV[1] or current[2] ~= ARGV[2] or current[3] == '0' then
  return {'LOST'}
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local newExpiry = string.format('%d', now + tonumber(ARGV[3]))

redis.call('HSET', KEYS[2], 'expiresAt', newExpiry)
return {'OK', ARGV[1], ARGV[2], newExpiry}
