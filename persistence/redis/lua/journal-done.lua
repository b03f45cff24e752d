--[[
  Records `done` with the call's result, for the current lease holder only.
  A key that is already `done` keeps its first result: a call's outcome is
  recorded once, and a replay must see that same outcome.

  KEYS[1] run   KEYS[2] lease   KEYS[3] journal
  ARGV[1] lease token   ARGV[2] idempotency key   ARGV[3] `done` entry JSON

  Returns {'OK'}, {'UNKNOWN_RUN'} or {'STALE_LEASE', currentToken|nil}.
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
  local ok, entry = pcall(cjson.decode, existing)
  if ok and type(entry) == 'table' and entry.status == 'done' then
    return {'OK'}
  end
end

redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return {'OK'}
