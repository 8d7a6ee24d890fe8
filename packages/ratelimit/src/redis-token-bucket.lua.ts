/**
 * The cluster-wide token bucket, run atomically inside Redis. Same discrete-fill semantics as
 * `TokenBucket`, on Redis's own clock (TIME) so every replica sees one time line.
 * KEYS[1] bucket; ARGV: max_tokens, tokens_per_fill, fill_interval_ms.
 * Returns { allowed (0|1), tokens left, ms until the next fill }.
 * The key expires once it would have refilled to full, so idle keys cost no memory.
 */
export const TOKEN_BUCKET_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'filled_at')
local tokens = tonumber(state[1])
local filled = tonumber(state[2])
if tokens == nil or filled == nil then
  tokens = max
  filled = now
end
local elapsed = now - filled
if elapsed >= interval then
  local fills = math.floor(elapsed / interval)
  filled = filled + fills * interval
  tokens = math.min(max, tokens + fills * per)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'filled_at', filled)
redis.call('PEXPIRE', KEYS[1], math.ceil((max - tokens) / per) * interval + interval)
return { allowed, tokens, filled + interval - now }
`;
