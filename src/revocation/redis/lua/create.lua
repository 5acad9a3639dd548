-- create_session: record a session (login), and index it under its subject.
-- KEYS: 1 session, 2 grace entry, 3 the subject's sessions
-- ARGV: 1 sid, 2 sub, 3 gen, 4 jti, 5 created, 6 last used, 7 absolute end, 8 idle timeout,
--       9 session ttl, 10 user agent ('': none), 11 client network ('': none),
--       optional grace entry: 12 parent jti, 13 rotated, 14 until, 15 access, 16 refresh,
--       17 expires_in, 18 grace ttl
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'sub', ARGV[2], 'gen', ARGV[3], 'jti', ARGV[4],
  'created', ARGV[5], 'last', ARGV[6], 'exp', ARGV[7], 'idle', ARGV[8])
set_client(KEYS[1], ARGV[10], ARGV[11])
redis.call('EXPIRE', KEYS[1], ARGV[9])
if ARGV[12] then
  redis.call('HSET', KEYS[2], 'parent', ARGV[12], 'rotated', ARGV[13], 'until', ARGV[14],
    'access', ARGV[15], 'refresh', ARGV[16], 'expires_in', ARGV[17])
  redis.call('EXPIRE', KEYS[2], ARGV[18])
end
-- The index outlives each of its sessions: its TTL is only ever extended to theirs, and
-- sessions past their absolute end leave it here (ARGV[6] is the login time).
prune_index(KEYS[3], ARGV[6])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[7])
keep(KEYS[3], ARGV[9])
return 1
