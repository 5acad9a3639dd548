-- epoch: which life of the store this is. `P epoch` names it: a random id without a TTL,
-- written by the first node to find a new, empty store, or by the first node to write
-- back what a store lost. `P lost` holds the ids of the nodes writing back right now.
-- KEYS: 1 epoch, 2 nodes writing back, 3 revoked tokens, 4 revoked sessions,
--       5 cut-offs (zset), 6 cut-offs (hash)
-- ARGV: 1 'genesis', 'begin' or 'end'; 2 a new epoch id; 3 this node's id
-- Returns {'epoch', id}, or for 'genesis' {'repairing'} (a node is writing back) or
-- {'unmarked'} (revocations without an epoch: nothing shows whether some were lost).
local epoch = redis.call('GET', KEYS[1])
if ARGV[1] == 'genesis' then
  if redis.call('SCARD', KEYS[2]) > 0 then
    return {'repairing'}
  end
  if epoch then
    return {'epoch', epoch}
  end
  if redis.call('EXISTS', KEYS[3], KEYS[4], KEYS[5], KEYS[6]) > 0 then
    return {'unmarked'}
  end
  redis.call('SET', KEYS[1], ARGV[2])
  return {'epoch', ARGV[2]}
elseif ARGV[1] == 'begin' then
  redis.call('SADD', KEYS[2], ARGV[3])
  if not epoch then
    epoch = ARGV[2]
    redis.call('SET', KEYS[1], epoch)
  end
  return {'epoch', epoch}
elseif ARGV[1] == 'end' then
  redis.call('SREM', KEYS[2], ARGV[3])
  if not epoch then
    return {'lost'}
  end
  return {'epoch', epoch}
end
return redis.error_reply('ERR gatepass: unknown epoch step')
