--[[
  One request to a shared rate limit (GCRA, as guards/rate-limit.ts decides it),
  on the Redis server's clock so that every worker agrees.

  KEYS[1] theoretical arrival time   KEYS[2] holders hash (holder -> expiresAt ms)
  ARGV[1] limit   ARGV[2] perMs   ARGV[3] burst   ARGV[4] concurrency (0: no cap)
  ARGV[5] slot ttl ms   ARGV[6] holder

  Returns {1, 0} when granted, {0, retryAfterMs} when not.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local concurrency = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local holder = ARGV[6]
local interval = per / limit
local tolerance = interval * (burst - 1)

if concurrency > 0 then
  local live = 0
  local holding = false
  local soonest = nil
  local entries = redis.call('HGETALL', KEYS[2])
  for i = 1, #entries, 2 do
    local expires = tonumber(entries[i + 1])
    if expires <= now then
      redis.call('HDEL', KEYS[2], entries[i])
    else
      live = live + 1
      if entries[i] == holder then holding = true end
      if soonest == nil or expires < soonest then soonest = expires end
    end
  end
  if not holding and live >= concurrency then
    -- A refused call spends no token.
    return {0, math.max(1, math.min(soonest - now, math.ceil(interval)))}
  end
end

local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, math.max(1, math.ceil(tat - tolerance - now))}
end
local nextTat = tat + interval
-- An idle bucket expires once it is full again, so buckets never pile up.
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now) + per)
if concurrency > 0 then
  redis.call('HSET', KEYS[2], holder, now + ttl)
  redis.call('PEXPIRE', KEYS[2], ttl * 2)
end
return {1, 0}
