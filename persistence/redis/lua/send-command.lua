--[[
  Queues an operator command for a run and announces the run id, in one
  step, so a watcher never hears of a command that is not queued yet. The
  command gets the run's next id, written first in its JSON: a commit
  removes it by that id (commit-run.lua), once its effect is stored.

  KEYS[1] run   KEYS[2] commands   KEYS[3] command seq
  ARGV[1] command JSON (an object)   ARGV[2] channel   ARGV[3] run id

  Returns {'OK'} or {'UNKNOWN_RUN'}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end
local seq = redis.call('INCR', KEYS[3])
redis.call('RPUSH', KEYS[2], '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2))
redis.call('PUBLISH', ARGV[2], ARGV[3])
return {'OK'}
