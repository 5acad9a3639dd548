-- revoke_session: end a session (logout, RFC 7009) and revoke its sid.
-- KEYS: 1 session, 2 grace entry, 3 revoked sessions
-- ARGV: 1 sid, 2 until, 3 revocation ttl, 4 now, 5 channel, 6 subject-index key prefix
local sub = redis.call('HGET', KEYS[1], 'sub')
if sub then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HDEL', ARGV[6] .. sub, ARGV[1])
end
revoke(KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], 's ' .. ARGV[2] .. ' ' .. ARGV[1])
if sub then
  return 1
end
return 0
