import { errors } from '../../plugins/errors.js'
import type { DpopReplayCache } from '../../plugins/oauth2-bearer/dpop-replay.js'

/**
 * The Redis command the replay cache uses: an ioredis client fits, `Redis` or `Cluster` (no
 * import of ioredis's types, an optional peer).
 */
export interface DpopReplayRedis {
  set(key: string, value: string, unixTimeMillisecondsToken: 'PXAT', unixTimeMilliseconds: number, nx: 'NX'): Promise<'OK' | null>
}

export interface RedisDpopReplayOptions {
  /** Prefix of the keys. Default `fastify-warden:dpop:`. */
  prefix?: string
}

/**
 * The replay cache shared by every instance: one `SET key 1 PXAT expiresAt NX` per proof, atomic
 * on its one key (any Cluster slot), so exactly one of the requests carrying a proof sees it
 * first. Keys expire on the Redis server's clock. Give it a client made with
 * `enableOfflineQueue: false` and a `commandTimeout`: while Redis is down each call then rejects
 * at once, and the proof is refused (503), never accepted unchecked.
 */
export function redisDpopReplay (redis: DpopReplayRedis, options: RedisDpopReplayOptions = {}): DpopReplayCache {
  if (typeof redis?.set !== 'function') throw new errors.WARDEN_ERR_OPTION('redis', 'must be an ioredis client (Redis or Cluster)')
  const prefix = options.prefix ?? 'fastify-warden:dpop:'
  if (typeof prefix !== 'string') throw new errors.WARDEN_ERR_OPTION('prefix', 'must be a string')
  return {
    async firstUse (key, expiresAt) {
      return (await redis.set(`${prefix}${key}`, '1', 'PXAT', expiresAt, 'NX')) === 'OK'
    }
  }
}
