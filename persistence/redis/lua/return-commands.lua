--[[
  Puts taken commands back at the head of the queue, in their order, ahead
  of any queued since: used when one of them does not parse, so the stored
  bytes stay as they were for an operator to look at.

  KEYS[1] commands
  ARGV[1..] command JSON, oldest first

  Returns the queue's length.
]]
for i = #ARGV, 1, -1 do
  redis.call('LPUSH', KEYS[1], ARGV[i])
end
return redis.call('LLEN', KEYS[1])
