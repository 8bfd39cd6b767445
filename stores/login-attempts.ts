import type { Redis } from 'ioredis'
import { lockDelay, lockoutKey, lockoutPolicy, type LockoutPolicy, type LoginAttempts } from '../plugins/oauth2-server/lockout.js'

/** In Redis, shared by every instance. */
export function redisLoginAttempts (redis: Redis, options: LockoutPolicy & { namespace?: string } = {}): LoginAttempts {
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
