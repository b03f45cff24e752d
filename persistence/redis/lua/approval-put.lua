--[[
  Queues an approval item unless one with the same id exists (the first put wins).

  KEYS[1] item   KEYS[2] status set
  ARGV[1] item JSON   ARGV[2] item id

  Returns {'OK'} or {'EXISTS'}.
]]
if redis.call('SETNX', KEYS[1], ARGV[1]) == 0 then
  return {'EXISTS'}
end
redis.call('SADD', KEYS[2], ARGV[2])
return {'OK'}
