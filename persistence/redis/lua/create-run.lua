--[[
  Stores a new run at version 1, with its summary beside it and, when an
  owner is given, its first lease (token 1): creation is ownership, so no
  other worker ever finds the run unowned between its creation and its lease.
  Time is the Redis server's clock, as for every lease.

  KEYS[1] run        KEYS[2] summary     KEYS[3] lease
  ARGV[1] record JSON
  ARGV[2] {version, summary} JSON
  ARGV[3] owner ('' for an unowned run, which a dispatcher hands to a worker)
  ARGV[4] lease ttl in ms

  Returns {'OK'}, {'OK', owner, token, expiresAt} or {'RUN_EXISTS'}.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'RUN_EXISTS'}
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
if ARGV[3] == '' then
  return {'OK'}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expiresAt = now + tonumber(ARGV[4])
redis.call('HSET', KEYS[3], 'owner', ARGV[3], 'token', '1', 'expiresAt', string.format('%d', expiresAt))
return {'OK', ARGV[3], '1', string.format('%d', expiresAt)}
