--[[
  Appends entries to a run's trace stream, capped near the given length
  (MAXLEN ~ trims whole stream nodes, which is cheap; oldest go first).

  KEYS[1] run   KEYS[2] trace
  ARGV[1] cap   ARGV[2..] TraceEntry JSON, in order

  Returns {'OK'} or {'UNKNOWN_RUN'}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'UNKNOWN_RUN'}
end
for i = 2, #ARGV do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i])
end
return {'OK'}
