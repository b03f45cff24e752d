--[[
  Decides an approval item by compare-and-set: the caller read the item,
  checked the decision (pending, within its deadline) and sends the bytes it
  read with the decided item; a concurrent decision makes the bytes differ.

  KEYS[1] item   KEYS[2] old status set   KEYS[3] new status set
  ARGV[1] item JSON as read   ARGV[2] decided item JSON   ARGV[3] item id

  Returns {'OK'}, {'CHANGED'} or {'UNKNOWN'}.
]]
local current = redis.call('GET', KEYS[1])
if not current then
  return {'UNKNOWN'}
end
if current ~= ARGV[1] then
  return {'CHANGED'}
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SREM', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3])
return {'OK'}
