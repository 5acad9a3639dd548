-- revoke_token: revoke one token by jti.
-- KEYS: 1 revoked tokens
-- ARGV: 1 jti, 2 until, 3 revocation ttl, 4 now, 5 channel
revoke(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], 't ' .. ARGV[2] .. ' ' .. ARGV[1])
return 1
