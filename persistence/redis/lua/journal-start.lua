--[[
  Records `started` for an idempotency key unless it already has an entry,
  for the current lease holder only.

  KEYS[1] run   KEYS[2] lease   KEYS[3] journal
  ARGV[1] lease token   ARGV[2] idempotency key   ARGV[3] `started` entry JSON

  Returns {'OK'} when recorded, {'EXISTS', entry JSON}, {'UNKNOWN_RUN'}
  or {'STALE_LEASE', currentToken|nil}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end

local token = redis.call('HGET', KEYS[2], 'token')
if token ~= ARGV[1] then
  return {'STALE_LEASE', token}
end

local existing = redis.call('HGET', KEYS[3], ARGV[2])
if existing then
  return {'EXISTS', existing}
end

redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return {'OK'}
