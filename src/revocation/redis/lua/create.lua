-- create_session: record a session (login), and index it under its subject.
-- KEYS: 1 session, 2 grace entry, 3 the subject's sessions
-- ARGV: 1 sid, 2 sub, 3 gen, 4 jti, 5 created, 6 last used, 7 absolute end, 8 idle timeout,
--       9 session ttl,
--       optional grace entry: 10 parent jti, 11 rotated, 12 until, 13 access, 14 refresh,
--       15 expires_in, 16 grace ttl
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'sub', ARGV[2], 'gen', ARGV[3], 'jti', ARGV[4],
  'created', ARGV[5], 'last', ARGV[6], 'exp', ARGV[7], 'idle', ARGV[8])
redis.call('EXPIRE', KEYS[1], ARGV[9])
if ARGV[10] then
  redis.call('HSET', KEYS[2], 'parent', ARGV[10], 'rotated', ARGV[11], 'until', ARGV[12],
    'access', ARGV[13], 'refresh', ARGV[14], 'expires_in', ARGV[15])
  redis.call('EXPIRE', KEYS[2], ARGV[16])
end
-- The index outlives each of its sessions: its TTL is only ever extended to theirs, and
-- sessions past their absolute end leave it here (ARGV[6] is the login time).
prune_index(KEYS[3], ARGV[6])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[7])
keep(KEYS[3], ARGV[9])
return 1
