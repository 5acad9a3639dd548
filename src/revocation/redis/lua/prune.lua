-- prune: drop revocations dead by now. Sessions need nothing: their keys expire.
-- KEYS: 1 revoked tokens, 2 revoked sessions, 3 cut-offs (zset), 4 cut-offs (hash)
-- ARGV: 1 now
return trim(KEYS[1], ARGV[1]) + trim(KEYS[2], ARGV[1]) + trim(KEYS[3], ARGV[1], KEYS[4])
