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

cutoff(KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[7], ARGV[8])
return ended
