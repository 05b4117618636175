"""The Lua scripts the Redis registry runs, each one atomic in Redis."""

# KEYS: version keys. ARGV[1]: the bump time; ARGV[2]: the channel to publish
# the bump on, ARGV[3] its message; ARGV[3 + i]: a random restart.
BUMP = """
local now = ARGV[1]
for i, key in ipairs(KEYS) do
    local current = redis.call('GET', key)
    local version = current and tonumber(string.match(current, '^(%d+):'))
    if version then version = version + 1 else version = tonumber(ARGV[i + 3]) end
    redis.call('SET', key, string.format('%.0f', version) .. ':' .. now)
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return #KEYS
"""

# Create missing version keys (evicted, deleted, never bumped) at a random
# version, stamped now, then read them all.
CREATE = """
for i, key in ipairs(KEYS) do
    redis.call('SET', key, ARGV[i + 1] .. ':' .. ARGV[1], 'NX')
end
return redis.call('MGET', unpack(KEYS))
"""

# Replace the epoch only if it is still the one this process saw go backwards.
RENEW_EPOCH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
"""

# KEYS[1]: the key naming the server the versions were last seen on; KEYS[2]:
# the epoch. ARGV[1]: this server's run id; ARGV[2]: a new epoch. Run on each
# new connection: a different server (restarted from disk, a promoted
# replica) may hold versions older than some handed out, so its epoch is
# replaced. Returns 1 when it was.
SERVER_CHANGED = """
local seen = redis.call('GET', KEYS[1])
if seen == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('SET', KEYS[2], ARGV[2])
    return 1
end
return 0
"""
