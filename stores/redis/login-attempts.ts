import type { AvailabilityLogger } from '../../plugins/core/availability.js'
import { errors } from '../../plugins/errors.js'
import { dependency } from '../../plugins/core/dependency.js'
import { memoryLoginAttempts, type AttemptPolicy, type LoginAttempts } from '../../plugins/core/login-attempts.js'

/**
 * The Redis command the lockout uses: an ioredis client fits, `Redis` or `Cluster` (no import of
 * ioredis's types, an optional peer). Each key's state is one hash, so every script touches one
 * key (one slot in a Cluster), and its time is the Redis server's, the same for every instance.
 */
export interface LockoutRedis {
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>
}

const NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

// The rule of lockout.ts, in one atomic script: refused while locked; else one more failure, and
// the lock it would start set now. Fields: f failures, u locked until (ms).
const RESERVE =
  NOW +
  `
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

const LOCKED_FOR =
  NOW +
  `
local u = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if u > now then return u - now end
return 0`

const RESET = "return redis.call('DEL', KEYS[1])"

export interface RedisLoginAttemptsOptions {
  /** Prefix of the keys. Default `fastify-warden`. */
  namespace?: string
  /**
   * Where attempts are counted while Redis does not answer (down, read-only after a failover,
   * unreachable slot): by default `memoryLoginAttempts()`, this instance's own counts, so logins
   * go on, each instance checking at most the threshold per lock; `false` fails closed (every
   * login path answers 503 until Redis is back). Never uncounted.
   */
  fallback?: LoginAttempts | false
  /** Where the outage's start and end are logged, one line each (e.g. `app.log`). Default: the log of the request that meets it. */
  log?: AvailabilityLogger
  /** The clock of those lines (tests); the lockout's own clock is the Redis server's. */
  now?: () => number
}

/** The rule's scripts on Redis, one key per call. */
function inRedis (redis: LockoutRedis, prefix: string): LoginAttempts {
  const keyOf = (key: string): string => `${prefix}{${key}}`
  const args = (p: AttemptPolicy): number[] => [p.threshold, p.baseDelay, p.maxDelay, p.memory]
  return {
    async reserve (key, policy) {
      const [granted, ms] = (await redis.eval(RESERVE, 1, keyOf(key), ...args(policy))) as [number, number]
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
      return Math.ceil(((await redis.eval(LOCKED_FOR, 1, keyOf(key))) as number) / 1000)
    }
  }
}

const HELD_MAX = 100_000

const isAttempts = (value: unknown): value is LoginAttempts =>
  value !== null &&
  typeof value === 'object' &&
  (['reserve', 'release', 'reset', 'lockedFor'] as const).every((m) => typeof (value as Record<string, unknown>)[m] === 'function')

/**
 * In Redis, shared by every instance (keys `{namespace}:login:{key}`, each under its own hash
 * tag). While Redis does not answer, in `fallback`: one warn line when that starts, one info
 * line when Redis answers again, and the shared counts are used from then on.
 */
export function redisLoginAttempts (redis: LockoutRedis, options: RedisLoginAttemptsOptions = {}): LoginAttempts {
  if (typeof redis?.eval !== 'function') throw new errors.WARDEN_ERR_OPTION('redis', 'must be an ioredis client (Redis or Cluster)')
  if (options.fallback !== undefined && options.fallback !== false && !isAttempts(options.fallback)) {
    throw new errors.WARDEN_ERR_OPTION('fallback', 'must be LoginAttempts ({ reserve, release, reset, lockedFor }) or false')
  }
  const shared = inRedis(redis, `${options.namespace ?? 'fastify-warden'}:login:`)
  const fallback = options.fallback ?? memoryLoginAttempts()
  if (fallback === false) return shared
  const state = dependency('Redis (login attempts)', options.log, undefined, options.now)
  const via = async <T>(log: AvailabilityLogger | undefined, call: (store: LoginAttempts) => Promise<T>): Promise<T> => {
    let value: T
    try {
      value = await call(shared)
    } catch (err) {
      state.failed(err, log)
      return await call(fallback)
    }
    state.succeeded(log)
    return value
  }
  // Reservations the fallback granted and that may yet be given back: a release goes to the store
  // that reserved, or one given back to Redis after the outage would erase a failure Redis counted.
  // Bounded: a failed attempt is never given back, so the oldest keys are forgotten first.
  const heldHere = new Map<string, number>()
  return {
    async reserve (key, policy, log) {
      let here = false
      const reservation = await via(log, async (store) => {
        here = store === fallback
        return await store.reserve(key, policy)
      })
      if (here && reservation.granted) {
        const held = (heldHere.get(key) ?? 0) + 1
        heldHere.delete(key)
        if (heldHere.size >= HELD_MAX) heldHere.delete(heldHere.keys().next().value as string)
        heldHere.set(key, held)
      }
      return reservation
    },
    async release (key, policy, log) {
      const held = heldHere.get(key) ?? 0
      if (held > 0) {
        if (held === 1) heldHere.delete(key)
        else heldHere.set(key, held - 1)
        await fallback.release(key, policy)
        return
      }
      await via(log, async (store) => {
        await store.release(key, policy)
      })
    },
    async reset (key, log) {
      // What an outage counted here goes too: a success, or an administrator, forgets it all.
      heldHere.delete(key)
      await fallback.reset(key)
      await via(log, async (store) => {
        await store.reset(key)
      })
    },
    lockedFor: async (key, log) => await via(log, async (store) => await store.lockedFor(key))
  }
}
