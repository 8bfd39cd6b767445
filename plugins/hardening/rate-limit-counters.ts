import { createHash } from 'node:crypto'

/**
 * The Redis commands the counters use: an ioredis client fits, `Redis` or `Cluster` (no import of
 * ioredis's types, an optional peer). Every call touches one key, so any key maps to one slot.
 */
export interface CounterRedis {
  evalsha(sha: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>
}

// A fixed window: the first request opens it; a key left without a TTL (a crash between the two
// calls of another writer) gets one rather than counting for ever.
const INCR = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {current, ttl}`
const SHA = createHash('sha1').update(INCR).digest('hex')

type Counted = (err: Error | null, result: { current: number; ttl: number } | null) => void

/**
 * A store for @fastify/rate-limit (`store` option) whose Redis key is the namespace and the key
 * the limiter gave, nothing else: `fastify-warden-rl:ip:203.0.113.9`,
 * `fastify-warden-rl:route:POST /auth/token:ip:…`. (Its own RedisStore adds the route's method
 * and URL, which a limiter made with `createRateLimit` does not have: `undefinedundefined-`.)
 * The script is sent once per server, then called by its digest.
 */
export function redisCounters (
  redis: CounterRedis,
  nameSpace: string
): new () => { incr: (key: string, done: Counted, timeWindow: number) => void; child: () => unknown } {
  const count = async (key: string, timeWindow: number): Promise<[number, number]> => {
    try {
      return (await redis.evalsha(SHA, 1, key, timeWindow)) as [number, number]
    } catch (err) {
      if (!(err as Error).message?.startsWith('NOSCRIPT')) throw err
      return (await redis.eval(INCR, 1, key, timeWindow)) as [number, number]
    }
  }
  return class RedisCounters {
    incr (key: string, done: Counted, timeWindow: number): void {
      count(nameSpace + key, timeWindow).then(
        ([current, ttl]) => {
          done(null, { current, ttl })
        },
        (err: Error) => {
          done(err, null)
        }
      )
    }

    /** Every limiter's keys already say what they count: one store for all. */
    child (): this {
      return this
    }
  }
}
