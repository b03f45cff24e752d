--[[
  Queues an operator command for a run and announces the run id, in one
  step, so a watcher never hears of a command that is not queued yet.

  KEYS[1] run   KEYS[2] commands
  ARGV[1] command JSON   ARGV[2] channel   ARGV[3] run id

  Returns {'OK'} or {'UNKNOWN_RUN'}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return {'OK'}
