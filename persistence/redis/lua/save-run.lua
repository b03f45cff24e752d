--[[
  Compare-and-set save: refused unless the writer holds the current lease
  token, the run is not quarantined, and the stored version is the new one
  minus one. Checks run in the order MemoryStore checks them.

  KEYS[1] run   KEYS[2] summary   KEYS[3] lease   KEYS[4] quarantine
  ARGV[1] record JSON
  ARGV[2] {version, summary} JSON
  ARGV[3] the record's (new) version
  ARGV[4] the writer's lease token
  ARGV[5] the record schema this code understands

  Returns {'OK'}, {'UNKNOWN_RUN'}, {'STALE_LEASE', currentToken|nil},
  {'QUARANTINED', why JSON}, {'CORRUPT', detail} (stored bytes left as
  they are), or {'STALE_VERSION', storedVersion}.
]]
local stored = redis.call('GET', KEYS[1])
if not stored then
  return {'UNKNOWN_RUN'}
end

local token = redis.call('HGET', KEYS[3], 'token')
if token ~= ARGV[4] then
  return {'STALE_LEASE', token}
end

local quarantined = redis.call('GET', KEYS[4])
if quarantined then
  return {'QUARANTINED', quarantined}
end

local ok, record = pcall(cjson.decode, stored)
if not ok or type(record) ~= 'table' then
  return {'CORRUPT', 'stored record is not JSON'}
end
if record.schema ~= tonumber(ARGV[5]) then
  return {'CORRUPT', 'stored record has an unknown schema'}
end
if type(record.version) ~= 'number' then
  return {'CORRUPT', 'stored record has no numeric version'}
end

if record.version ~= tonumber(ARGV[3]) - 1 then
  return {'STALE_VERSION', string.format('%d', record.version)}
end

redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return {'OK'}
