-- reseed: write revocations back after the store lost its data, merged exactly as the
-- revoke scripts merge them (a later prune time wins, a later cut-off wins), each one
-- published so that every node's mirror has it. A revoked session's record, if the store
-- still has one, goes as in revoke_session. A cut-off ends no session here: the sessions
-- the store knows now began after the loss, and a cut-off only ends older ones.
-- KEYS: 1 revoked tokens, 2 revoked sessions, 3 cut-offs (zset), 4 cut-offs (hash)
-- ARGV: 1 now, 2 channel, 3 session key prefix, 4 grace key prefix,
--       5 subject-index key prefix, then 5 values per revocation: kind ('t', 's' or 'u'),
--       id, until ('+inf': a cut-off kept until replaced), ttl, cut-off (for 'u'; else '')
local n = 0
for i = 6, #ARGV - 4, 5 do
  local kind, id, until_, ttl = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if kind == 't' then
    revoke(KEYS[1], id, until_, ttl, ARGV[1], ARGV[2], 't ' .. until_ .. ' ' .. id)
  elseif kind == 's' then
    local sub = redis.call('HGET', ARGV[3] .. id, 'sub')
    if sub then
      redis.call('DEL', ARGV[3] .. id, ARGV[4] .. id)
      redis.call('HDEL', ARGV[5] .. sub, id)
    end
    revoke(KEYS[2], id, until_, ttl, ARGV[1], ARGV[2], 's ' .. until_ .. ' ' .. id)
  elseif kind == 'u' then
    cutoff(KEYS[3], KEYS[4], id, ARGV[i + 4], until_, ttl, ARGV[1], ARGV[2])
  else
    return redis.error_reply('ERR gatepass: unknown revocation kind')
  end
  n = n + 1
end
return n
