-- revoke_subject: end every live session of a subject and record its cut-off.
-- KEYS: 1 the subject's sessions, 2 revoked sessions, 3 cut-offs (zset: until),
--       4 cut-offs (hash: before)
-- ARGV: 1 sub, 2 before, 3 cut-off until ('+inf': kept until replaced), 4 cut-off ttl,
--       5 sid until, 6 sid revocation ttl, 7 now, 8 channel, 9 session key prefix,
--       10 grace key prefix
-- Session keys are built from the prefix: on Redis Cluster the prefix's hash tag keeps
-- them in the slot of the declared keys.
local ended = {}
for _, sid in ipairs(redis.call('HKEYS', KEYS[1])) do
  local session = ARGV[9] .. sid
  if redis.call('EXISTS', session) == 1 then
    redis.call('DEL', session, ARGV[10] .. sid)
    revoke(KEYS[2], sid, ARGV[5], ARGV[6], ARGV[7], ARGV[8], 's ' .. ARGV[5] .. ' ' .. sid)
    ended[#ended + 1] = sid
  end
end
redis.call('DEL', KEYS[1])

trim(KEYS[3], ARGV[7], KEYS[4])
local fresh = redis.call('EXISTS', KEYS[3]) == 0
local left = redis.call('TTL', KEYS[3])
-- A later cut-off replaces an earlier one; an earlier one never weakens a later one.
local old = redis.call('HGET', KEYS[4], ARGV[1])
if not old or tonumber(ARGV[2]) >= tonumber(old) then
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
end
redis.call('ZADD', KEYS[3], 'GT', ARGV[3], ARGV[1])
if ARGV[3] == '+inf' then
  redis.call('PERSIST', KEYS[3])
  redis.call('PERSIST', KEYS[4])
elseif fresh or (left >= 0 and left < tonumber(ARGV[4])) then
  redis.call('EXPIRE', KEYS[3], ARGV[4])
  redis.call('EXPIRE', KEYS[4], ARGV[4])
end
redis.call('PUBLISH', ARGV[8], 'u ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[1])
return ended
