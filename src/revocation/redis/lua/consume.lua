-- consume_if_current: the rotation state machine of SessionTable::decide, as one atomic
-- step on the server. Of N concurrent calls with the current token exactly one rotates.
-- KEYS: 1 session, 2 grace entry, 3 revoked sessions
-- ARGV: 1 sid, 2 presented gen, 3 presented gen + 1, 4 presented jti, 5 now,
--       6 next gen, 7 next jti, 8 grace seconds, 9 grace until, 10 grace-entry ttl,
--       11 next access token, 12 next refresh token, 13 next expires_in,
--       14 revoke sid until, 15 revocation ttl, 16 session ttl margin, 17 max ttl,
--       18 channel, 19 subject-index key prefix, 20 '1' if the refreshing client is
--       given (then 21 user agent, 22 network; '': none), else '0'
local s = redis.call('HMGET', KEYS[1], 'sub', 'gen', 'jti', 'last', 'exp', 'idle')
local sub, gen, jti = s[1], s[2], s[3]
if not sub then
  return {'unknown'}
end
local now, last, exp, idle = tonumber(ARGV[5]), tonumber(s[4]), tonumber(s[5]), tonumber(s[6])
if not (gen and jti and last and exp and idle) then
  return redis.error_reply('CORRUPT gatepass: malformed session record')
end

-- End the session: forget it, revoke its sid so its access tokens die everywhere.
local function finish(reason)
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HDEL', ARGV[19] .. sub, ARGV[1])
  revoke(KEYS[3], ARGV[1], ARGV[14], ARGV[15], ARGV[5], ARGV[18], 's ' .. ARGV[14] .. ' ' .. ARGV[1])
  if reason == 'reuse' then
    return {'reused'}
  end
  return {'ended', reason}
end

if now >= exp then
  return finish('absolute_timeout')
end
if ARGV[2] == gen and ARGV[4] == jti then
  if now >= last + idle then
    return finish('idle_timeout')
  end
  redis.call('HSET', KEYS[1], 'gen', ARGV[6], 'jti', ARGV[7], 'last', ARGV[5])
  if ARGV[20] == '1' then
    set_client(KEYS[1], ARGV[21], ARGV[22])
  end
  local ttl = math.floor(math.min(math.min(idle, exp - now) + tonumber(ARGV[16]), tonumber(ARGV[17])))
  redis.call('EXPIRE', KEYS[1], ttl)
  keep(ARGV[19] .. sub, ttl)
  -- No prune of the subject index here: only a login adds to it, and each login prunes
  -- it (create.lua). Pruning on every rotation made a refresh cost O(sessions of the
  -- subject) inside Redis's one thread: ~400 refreshes/s for a subject with thousands of
  -- live sessions.
  redis.call('DEL', KEYS[2])
  if tonumber(ARGV[8]) > 0 then
    -- The successor, stored with the session: a retry of the parent gets these bytes.
    redis.call('HSET', KEYS[2], 'parent', ARGV[4], 'rotated', ARGV[5], 'until', ARGV[9],
      'access', ARGV[11], 'refresh', ARGV[12], 'expires_in', ARGV[13])
    redis.call('EXPIRE', KEYS[2], ARGV[10])
  end
  return {'rotated'}
end
-- Only the direct parent, only within the window, gets the already-issued answer.
local g = redis.call('HMGET', KEYS[2], 'parent', 'until', 'access', 'refresh', 'expires_in')
if g[1] and ARGV[3] == gen and ARGV[4] == g[1] and now < tonumber(g[2]) then
  return {'grace', g[3], g[4], g[5]}
end
return finish('reuse')
