--[[
  Appends one model step's messages exactly once: a step at or below the
  last appended one is ignored. For the current lease holder only.

  KEYS[1] run   KEYS[2] lease   KEYS[3] transcript   KEYS[4] transcript step
  ARGV[1] lease token   ARGV[2] step   ARGV[3..] message JSON, in order

  Returns {'OK', appended count}, {'UNKNOWN_RUN'} or
  {'STALE_LEASE', currentToken|nil}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end

local token = redis.call('HGET', KEYS[2], 'token')
if token ~= ARGV[1] then
  return {'STALE_LEASE', token}
end

local step = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[4]) or '-1')
if step <= last then
  return {'OK', 0}
end

-- RPUSH in chunks: unpack() of a very long argument list overflows Lua's stack.
local i = 3
while i <= #ARGV do
  local j = math.min(i + 999, #ARGV)
  redis.call('RPUSH', KEYS[3], unpack(ARGV, i, j))
  i = j + 1
end
redis.call('SET', KEYS[4], ARGV[2])
return {'OK', #ARGV - 2}
