-- list_sessions: the live sessions of one subject, read in one atomic step.
-- KEYS: 1 the subject's sessions (hash sid -> absolute end)
-- ARGV: 1 now, 2 session key prefix, 3 grace key prefix
-- Returns {sid, session hash, grace hash} per live session. Index entries whose session
-- key is gone (expired by its TTL: an idle session nobody refreshed) are dropped here, so
-- the index follows its sessions; sessions past their idle or absolute end but not yet
-- expired are left out of the answer.
local now = tonumber(ARGV[1])
local live = {}
local gone = {}
for _, sid in ipairs(redis.call('HKEYS', KEYS[1])) do
  local session = ARGV[2] .. sid
  local s = redis.call('HMGET', session, 'last', 'exp', 'idle')
  local last, exp, idle = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
  if not (last and exp and idle) then
    gone[#gone + 1] = sid
  elseif now < math.min(last + idle, exp) then
    live[#live + 1] = {sid, redis.call('HGETALL', session), redis.call('HGETALL', ARGV[3] .. sid)}
  end
end
for i = 1, #gone, 500 do
  redis.call('HDEL', KEYS[1], unpack(gone, i, math.min(i + 499, #gone)))
end
return live
