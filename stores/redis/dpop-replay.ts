import { errors } from '../../plugins/errors.js'
import type { DpopReplayCache } from '../../plugins/oauth2-bearer/dpop-replay.js'

/**
 * The Redis command the replay cache uses: an ioredis client fits, `Redis` or `Cluster` (no
 * import of ioredis's types, an optional peer).
 */
export interface DpopReplayRedis {
  set(key: string, value: string, millisecondsToken: 'PX', milliseconds: number, nx: 'NX'): Promise<'OK' | null>
}

export interface RedisDpopReplayOptions {
  /** Prefix of the keys. Default `fastify-warden:dpop:`. */
  prefix?: string
  /** This instance's clock, ms since the epoch (the scheme's `now`). Default `Date.now`. */
  now?: () => number
}

/**
 * Kept this long beyond the proof's window: another instance whose clock is behind this one's
 * (by up to the clock tolerance, at most 60 s) still accepts the proof that long after it.
 */
const CLOCK_MARGIN = 60_000

/**
 * The replay cache shared by every instance: one `SET key 1 PX ttl NX` per proof, atomic on its
 * one key (any Cluster slot), so exactly one of the requests carrying a proof sees it first. The
 * time to keep it is relative, read on this instance's clock: an absolute time would be read on
 * the Redis server's, and a server ahead of this one would not keep the proof at all. Give it a client made with
 * `enableOfflineQueue: false` and a `commandTimeout`: while Redis is down each call then rejects
 * at once, and the proof is refused (503), never accepted unchecked.
 */
export function redisDpopReplay (redis: DpopReplayRedis, options: RedisDpopReplayOptions = {}): DpopReplayCache {
  if (typeof redis?.set !== 'function') throw new errors.WARDEN_ERR_OPTION('redis', 'must be an ioredis client (Redis or Cluster)')
  const prefix = options.prefix ?? 'fastify-warden:dpop:'
  if (typeof prefix !== 'string') throw new errors.WARDEN_ERR_OPTION('prefix', 'must be a string')
  const now = options.now ?? Date.now
  return {
    async firstUse (key, expiresAt) {
      const ttl = Math.max(1, Math.ceil(expiresAt - now())) + CLOCK_MARGIN
      return (await redis.set(`${prefix}${key}`, '1', 'PX', ttl, 'NX')) === 'OK'
    }
  }
}
