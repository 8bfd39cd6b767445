import { lockDelay, lockoutKey, lockoutPolicy, type LockoutPolicy, type LoginAttempts } from './lockout.js'

/** The Redis commands the lockout uses: an ioredis client fits (no import of ioredis's types, an optional peer). */
export interface LockoutRedis {
  pttl (key: string): Promise<number>
  multi (): LockoutPipeline
  set (key: string, value: string, mode: 'PX', milliseconds: number): Promise<unknown>
  del (...keys: string[]): Promise<number>
}
interface LockoutPipeline {
  incr (key: string): LockoutPipeline
  pexpire (key: string, milliseconds: number): LockoutPipeline
  exec (): Promise<Array<[Error | null, unknown]> | null>
}

/** In Redis, shared by every instance. */
export function redisLoginAttempts (redis: LockoutRedis, options: LockoutPolicy & { namespace?: string } = {}): LoginAttempts {
  const p = lockoutPolicy(options)
  const prefix = `${options.namespace ?? 'fastify-warden'}:login:`
  return {
    async lockedFor (username) {
      const ttl = await redis.pttl(prefix + lockoutKey(username) + ':lock')
      return ttl > 0 ? Math.ceil(ttl / 1000) : 0
    },
    async fail (username) {
      const k = prefix + lockoutKey(username)
      const [[, failures]] = await redis.multi().incr(k + ':failures').pexpire(k + ':failures', p.memory).exec() as Array<[Error | null, number]>
      const delay = lockDelay(failures, p)
      if (delay > 0) await redis.set(k + ':lock', '1', 'PX', delay)
      return Math.ceil(delay / 1000)
    },
    async reset (username) {
      const k = prefix + lockoutKey(username)
      await redis.del(k + ':failures', k + ':lock')
    }
  }
}
