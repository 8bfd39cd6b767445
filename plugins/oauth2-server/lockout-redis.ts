import type { AttemptPolicy, LoginAttempts } from './lockout.js'

/**
 * The Redis command the lockout uses: an ioredis client fits, `Redis` or `Cluster` (no import of
 * ioredis's types, an optional peer). Each key's state is one hash, so every script touches one
 * key (one slot in a Cluster), and its time is the Redis server's, the same for every instance.
 */
export interface LockoutRedis {
  eval (script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>
}

const NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

// The rule of lockout.ts, in one atomic script: refused while locked; else one more failure, and
// the lock it would start set now. Fields: f failures, u locked until (ms).
const RESERVE = NOW + `
local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
local u = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if u > now then return {0, u - now} end
f = f + 1
local threshold, base, max, memory = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local delay = 0
if f >= threshold then delay = math.min(max, base * 2 ^ math.min(f - threshold, 30)) end
local until_ = 0
if delay > 0 then until_ = now + delay end
redis.call('HSET', KEYS[1], 'f', f, 'u', string.format('%d', until_))
redis.call('PEXPIRE', KEYS[1], math.max(memory, delay))
return {1, delay}`

const RELEASE = `
local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
if f <= 1 then redis.call('DEL', KEYS[1]) return 0 end
f = f - 1
if f < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'f', f, 'u', 0) else redis.call('HSET', KEYS[1], 'f', f) end
return f`

const LOCKED_FOR = NOW + `
local u = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if u > now then return u - now end
return 0`

const RESET = "return redis.call('DEL', KEYS[1])"

/** In Redis, shared by every instance (keys `{namespace}:login:{key}`). */
export function redisLoginAttempts (redis: LockoutRedis, options: { namespace?: string } = {}): LoginAttempts {
  const prefix = `${options.namespace ?? 'fastify-warden'}:login:`
  const keyOf = (key: string): string => `${prefix}{${key}}`
  const args = (p: AttemptPolicy): number[] => [p.threshold, p.baseDelay, p.maxDelay, p.memory]
  return {
    async reserve (key, policy) {
      const [granted, ms] = await redis.eval(RESERVE, 1, keyOf(key), ...args(policy)) as [number, number]
      const seconds = Math.ceil(ms / 1000)
      return granted === 1 ? { granted: true, lock: seconds } : { granted: false, retryAfter: seconds }
    },
    async release (key, policy) {
      await redis.eval(RELEASE, 1, keyOf(key), policy.threshold)
    },
    async reset (key) {
      await redis.eval(RESET, 1, keyOf(key))
    },
    async lockedFor (key) {
      return Math.ceil(await redis.eval(LOCKED_FOR, 1, keyOf(key)) as number / 1000)
    }
  }
}
