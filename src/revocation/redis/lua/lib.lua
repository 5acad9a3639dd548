-- gatepass: helpers prepended to every script.
--
-- Times are unix seconds from the application's clock, passed in ARGV, never Redis's own:
-- every decision is the application's, and TTLs only collect garbage. All arithmetic on
-- stored numbers stays below 2^53, where Lua's doubles are exact.

-- Drop the revocations of `zset` dead by `now` (score <= now); members of `hash`, if
-- given, go with them. Returns how many went.
local function trim(zset, now, hash)
  if hash then
    local dead = redis.call('ZRANGEBYSCORE', zset, '-inf', now)
    for i = 1, #dead, 500 do
      redis.call('HDEL', hash, unpack(dead, i, math.min(i + 499, #dead)))
    end
  end
  return redis.call('ZREMRANGEBYSCORE', zset, '-inf', now)
end

-- Let `key` live at least `ttl` more seconds, never shorter than it already would. Every
-- key these scripts write carries a TTL, so "no TTL" (-1) means "created just now".
local function keep(key, ttl)
  local left = redis.call('TTL', key)
  if left == -1 or left < tonumber(ttl) then
    redis.call('EXPIRE', key, ttl)
  end
end

-- Revoke `member` of `zset` until `until_` (an existing later time wins), and tell every
-- node's mirror on `channel`.
local function revoke(zset, member, until_, ttl, now, channel, message)
  trim(zset, now)
  redis.call('ZADD', zset, 'GT', until_, member)
  keep(zset, ttl)
  redis.call('PUBLISH', channel, message)
end

-- Record `sub`'s cut-off `before` (tokens issued earlier are dead), kept until `until_`
-- ('+inf': until replaced), in `zset` (sub -> prune time) and `hash` (sub -> cut-off), and
-- tell every node's mirror. A later cut-off replaces an earlier one; an earlier one never
-- weakens a later one.
local function cutoff(zset, hash, sub, before, until_, ttl, now, channel)
  trim(zset, now, hash)
  local fresh = redis.call('EXISTS', zset) == 0
  local left = redis.call('TTL', zset)
  local old = redis.call('HGET', hash, sub)
  if not old or tonumber(before) >= tonumber(old) then
    redis.call('HSET', hash, sub, before)
  end
  redis.call('ZADD', zset, 'GT', until_, sub)
  if until_ == '+inf' then
    redis.call('PERSIST', zset)
    redis.call('PERSIST', hash)
  elseif fresh or (left >= 0 and left < tonumber(ttl)) then
    redis.call('EXPIRE', zset, ttl)
    redis.call('EXPIRE', hash, ttl)
  end
  redis.call('PUBLISH', channel, 'u ' .. before .. ' ' .. until_ .. ' ' .. sub)
end


-- Forget the sessions in subject index `index` (a hash sid -> absolute end) whose absolute
-- end is past `now`: their session keys have expired with their TTLs, and nothing else
-- would remove them, so a subject who logs in every day would grow the index (and the
-- work of logout-all) without bound. After this, the index holds at most the sessions of
-- one absolute lifetime. Run at each login (the only thing that adds to the index), not at
-- rotations: it reads the whole index.
local function prune_index(index, now)
  -- Amortized: a small index is read every time; a larger one only when its size is a
  -- power of two. An index of live sessions (nothing to drop) is then read once per
  -- doubling, not at every login; one with dead entries is cut back when it reaches the
  -- next power of two, so it stays within twice the live sessions of one lifetime.
  -- pcall: an ACL written for an earlier version may not allow HLEN; then every login
  -- prunes, as before.
  local size = redis.pcall('HLEN', index)
  if type(size) == 'number' and size >= 32 and bit.band(size, size - 1) ~= 0 then
    return
  end
  local entries = redis.call('HGETALL', index)
  local dead = {}
  for i = 1, #entries, 2 do
    if tonumber(entries[i + 1]) <= tonumber(now) then
      dead[#dead + 1] = entries[i]
    end
  end
  for i = 1, #dead, 500 do
    redis.call('HDEL', index, unpack(dead, i, math.min(i + 499, #dead)))
  end
end

-- Remember the client of a login or refresh in session hash `session`: the user agent
-- and the network (already cut and truncated by the application), or forget a field
-- the client did not send ('').
local function set_client(session, ua, ip)
  if ua ~= '' then
    redis.call('HSET', session, 'ua', ua)
  else
    redis.call('HDEL', session, 'ua')
  end
  if ip ~= '' then
    redis.call('HSET', session, 'ip', ip)
  else
    redis.call('HDEL', session, 'ip')
  end
end
