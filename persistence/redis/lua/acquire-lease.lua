--[[
  Takes the run's lease if it is free, expired, or already this owner's.
  Time is the Redis server's clock, so workers on different machines agree.
  A new holder gets the previous token plus one: tokens only grow.

  KEYS[1] run   KEYS[2] lease
  ARGV[1] owner   ARGV[2] ttl in ms

  Returns {'OK', owner, token, expiresAt}, {'HELD'} or {'UNKNOWN_RUN'}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local current = redis.call('HMGET', KEYS[2], 'owner', 'token', 'expiresAt')
local owner = current[1]
local token = tonumber(current[2])
local expiresAt = tonumber(current[3]) or 0

local live = token ~= nil and expiresAt > now
if live and owner ~= ARGV[1] then
  return {'HELD'}
end

-- Every acquisition is a new holding, even by the same owner: the token grows and fences out an earlier
-- holder in the same process (or a restarted worker that reuses its id) instead of letting both write.
local newToken = (token or 0) + 1
local newExpiry = now + tonumber(ARGV[2])

redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'token', string.format('%d', newToken), 'expiresAt', string.format('%d', newExpiry))
return {'OK', ARGV[1], string.format('%d', newToken), string.format('%d', newExpiry)}
