--[[
  One run's queued writes, applied all or nothing (see RunCommit in
  persistence/store.ts): every check runs before the first write, so a
  refused commit leaves the run as it was. Checks run in the order
  MemoryStore checks them.

  The version check reads the summary key, which this script and
  create-run write together with the record, instead of decoding the whole
  record on every save; only when the summary does not decode is the record
  decoded instead (a summary is rebuilt, never a reason to refuse). A record
  whose bytes were damaged by hand is found (and quarantined) by the next
  load, or here when neither has a version: {'CORRUPT', detail} is about
  the record.

  KEYS[1] run  KEYS[2] summary  KEYS[3] lease  KEYS[4] quarantine
  KEYS[5] journal  KEYS[6] transcript  KEYS[7] transcript step  KEYS[8] trace
  KEYS[9] commands

  ARGV[1]  the writer's lease token
  ARGV[2]  record JSON, or '' when the commit has no record
  ARGV[3]  {version, summary} JSON (with a record)
  ARGV[4]  the record's new version (with a record)
  ARGV[5]  trace cap (XADD MAXLEN ~)
  ARGV[6]  journal key to start, or ''
  ARGV[7]  its `started` entry JSON
  ARGV[8]  trim journal entries of steps below this, or ''
  ARGV[9]  number of transcript steps T   ARGV[10] number of done entries D
  ARGV[11] number of trace entries R   ARGV[12] number of acknowledged commands A
  ARGV[13 ..] T times (step, message count m, m message JSON), then D times
             (key, `done` entry JSON), then R trace entry JSON, then A command ids

  Returns {'OK', existing entry JSON | false}, {'UNKNOWN_RUN'},
  {'STALE_LEASE', currentToken|nil}, {'QUARANTINED', why JSON},
  {'CORRUPT', detail} or {'STALE_VERSION', storedVersion}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end

local token = redis.call('HGET', KEYS[3], 'token')
if token ~= ARGV[1] then
  return {'STALE_LEASE', token}
end

if ARGV[2] ~= '' then
  local quarantined = redis.call('GET', KEYS[4])
  if quarantined then
    return {'QUARANTINED', quarantined}
  end
  -- The summary is derived data: when it does not decode, the record's own version decides (this commit rewrites both).
  local version = nil
  for _, key in ipairs({KEYS[2], KEYS[1]}) do
    local ok, stored = pcall(cjson.decode, redis.call('GET', key) or '')
    if ok and type(stored) == 'table' and type(stored.version) == 'number' then
      version = stored.version
      break
    end
  end
  if version == nil then
    return {'CORRUPT', 'the record has no numeric version'}
  end
  if version ~= tonumber(ARGV[4]) - 1 then
    return {'STALE_VERSION', string.format('%d', version)}
  end
end

local i = 13
-- 1. transcript: each step once. RPUSH in chunks: unpack() of a very long argument list overflows Lua's stack.
local last = tonumber(redis.call('GET', KEYS[7]) or '-1')
for _ = 1, tonumber(ARGV[9]) do
  local step, count = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local first, stop = i + 2, i + 1 + count
  if step > last and count > 0 then
    local j = first
    while j <= stop do
      local k = math.min(j + 999, stop)
      redis.call('RPUSH', KEYS[6], unpack(ARGV, j, k))
      j = k + 1
    end
  end
  if step > last then
    redis.call('SET', KEYS[7], step)
    last = step
  end
  i = stop + 1
end

-- 2. results: a key already `done` keeps its first result (a replay must see the same outcome).
for _ = 1, tonumber(ARGV[10]) do
  local existing = redis.call('HGET', KEYS[5], ARGV[i])
  local done = false
  if existing then
    local ok, entry = pcall(cjson.decode, existing)
    done = ok and type(entry) == 'table' and entry.status == 'done'
  end
  if not done then
    redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
  end
  i = i + 2
end

-- 3. the record
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3])
end

-- 4. trace
for _ = 1, tonumber(ARGV[11]) do
  redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[i])
  i = i + 1
end

-- 5. started, unless the key has an entry already
local existing = false
if ARGV[6] ~= '' then
  existing = redis.call('HGET', KEYS[5], ARGV[6]) or false
  if not existing then
    redis.call('HSET', KEYS[5], ARGV[6], ARGV[7])
  end
end

-- 6. trim (an entry that does not decode is kept: reading it raises CorruptRecordError)
if ARGV[8] ~= '' then
  local below = tonumber(ARGV[8])
  local fields = redis.call('HGETALL', KEYS[5])
  for f = 1, #fields, 2 do
    local ok, entry = pcall(cjson.decode, fields[f + 1])
    if ok and type(entry) == 'table' and type(entry.step) == 'number' and entry.step < below then
      redis.call('HDEL', KEYS[5], fields[f])
    end
  end
end

-- 7. acknowledged commands leave the queue with the record that holds their effect
if tonumber(ARGV[12]) > 0 then
  local acked = {}
  for _ = 1, tonumber(ARGV[12]) do
    acked[ARGV[i]] = true
    i = i + 1
  end
  for _, item in ipairs(redis.call('LRANGE', KEYS[9], 0, -1)) do
    local seq = string.match(item, '^{"seq":(%d+),')
    if seq and acked[seq] then
      redis.call('LREM', KEYS[9], 1, item)
    end
  end
end

return {'OK', existing}
