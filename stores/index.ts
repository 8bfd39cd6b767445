import type { Database } from './sql/database.js'
import { migrateWarden } from './sql/migrations.js'
import { sqlApiKeyStore, type ApiKeyStore } from './sql/api-keys.js'
import { sqlRefreshTokenStore } from './sql/refresh-tokens.js'
import { sqlRevocationStore } from './sql/revocations.js'
import { RevocationList, type DependencyState, type RedisClient } from './revocation-list.js'
import { ApiKeyUsage } from './sql/api-key-usage.js'
import type { RefreshTokenStore } from '../plugins/oauth2-server/session-store.js'
import type { ApiKeyRecord } from '../plugins/api-key/index.js'

export interface WardenStoreOptions {
  /**
   * Share revocations between instances at once (pub/sub) and cache revoked ids there: a client
   * the app made (ioredis `Redis`, Sentinel-backed or not, or `Cluster`). The stores subscribe on
   * a duplicate of it and close only that.
   */
  redis?: RedisClient
  /** Prefix of Redis keys and channels. Default `fastify-warden`. */
  redisNamespace?: string
  /** Told of Redis and the database going down and coming back (an `Availability` each: one log line per change). */
  availability?: { redis?: DependencyState; database?: DependencyState }
  /** Faults of the background work (batched API-key uses, purges, a malformed message); outages once each without `availability`. */
  onError?: (err: Error) => void
  /** Interval of batched API-key use records (ms). Default 5 s. */
  usageInterval?: number
  /** Interval of revocation rereads from the database (ms). Default 30 s. */
  revocationPollInterval?: number
  /** How often expired refresh-token families and revoked ids are deleted (ms). Default 1 hour. */
  purgeInterval?: number
  /** Clock in ms since the epoch, for what is checked in memory (a refresh token's expiry, a revocation's end). Default `Date.now`. */
  now?: () => number
}

/**
 * fastify-warden's stores on one database: give the object itself to `oauth2Server` as
 * `sessions`, `isRevoked` to `oauth2Bearer`, `lookup` to `apiKey`.
 */
export interface WardenStores {
  readonly db: Database
  readonly refreshTokens: RefreshTokenStore & { purge(): Promise<number> }
  /** Revoked token ids in memory, persisted, and shared through Redis when configured. */
  readonly revocations: RevocationList
  readonly apiKeys: ApiKeyStore
  /** Batched last-use records of API keys (the `apiKey` scheme's `onUse`). */
  readonly apiKeyUsage: ApiKeyUsage
  /** For `oauth2Bearer`'s `isRevoked`: whether a token's `jti` or session (`sid`) is revoked. */
  isRevoked(claims: { jti?: unknown; sid?: unknown }): boolean
  /** For `apiKey`'s `lookup`. */
  lookup(prefix: string): Promise<ApiKeyRecord | null>
  /** Delete what can no longer matter: expired or long-revoked sessions, expired revocations. Also runs on a schedule. */
  purge(): Promise<{ sessions: number; revocations: number }>
  /** Stop the timers, write pending API-key uses, leave Redis. The database stays open: it is the caller's. */
  close(): Promise<void>
}

/** Create (or update) fastify-warden's tables in `db` and build its stores on them. */
export async function wardenStores (db: Database, options: WardenStoreOptions = {}): Promise<WardenStores> {
  await migrateWarden(db)
  const apiKeys = sqlApiKeyStore(db)
  const revocationStore = sqlRevocationStore(db)
  const refreshTokens = sqlRefreshTokenStore(db, options.now)
  const revocations = await RevocationList.open({
    store: revocationStore,
    ...(options.redis === undefined ? {} : { redis: options.redis }),
    availability: {
      ...(options.availability?.redis === undefined ? {} : { redis: options.availability.redis }),
      ...(options.availability?.database === undefined ? {} : { store: options.availability.database })
    },
    ...(options.redisNamespace === undefined ? {} : { namespace: options.redisNamespace }),
    ...(options.revocationPollInterval === undefined ? {} : { pollInterval: options.revocationPollInterval }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
    ...(options.now === undefined ? {} : { now: options.now })
  })
  const apiKeyUsage = new ApiKeyUsage(apiKeys, options.usageInterval, options.onError)
  const purge = async (): Promise<{ sessions: number; revocations: number }> => ({
    sessions: await refreshTokens.purge(),
    revocations: await revocationStore.purge()
  })
  // No table grows without bound: what cannot be used any more is deleted on a schedule.
  const purging = setInterval(() => {
    purge().catch((err: Error) => options.onError?.(err))
  }, options.purgeInterval ?? 3_600_000)
  purging.unref()
  return {
    db,
    refreshTokens,
    revocations,
    apiKeys,
    apiKeyUsage,
    isRevoked: (claims) => revocations.isRevoked(claims),
    lookup: async (prefix) => await apiKeys.findByPrefix(prefix),
    purge,
    async close () {
      clearInterval(purging)
      await apiKeyUsage.close()
      await revocations.close()
    }
  }
}

export { DatabaseUnavailable, type Database, type Queryable } from './sql/database.js'
export { isConnectionError } from './sql/connection-errors.js'
export { redisLoginAttempts, type LockoutRedis, type RedisLoginAttemptsOptions } from './redis/login-attempts.js'
export { redisDpopReplay, type DpopReplayRedis, type RedisDpopReplayOptions } from './redis/dpop-replay.js'
export { openDatabase } from './sql/open-database.js'
export { migrateWarden, applyMigrations, type Migration } from './sql/migrations.js'
// The parts wardenStores is made of, for an app that composes its own (its revocations elsewhere,
// say): each one's contract is the plugins' (RefreshTokenStore, the lookup of apiKey, isRevoked).
export { sqlApiKeyStore, type ApiKeyStore, type StoredApiKey } from './sql/api-keys.js'
export { sqlRefreshTokenStore } from './sql/refresh-tokens.js'
export { sqlRevocationStore, type RevocationStore } from './sql/revocations.js'
export { memorySessionStore, memoryRevocations, type MemorySessionStore, type MemoryRevocations } from './memory/sessions.js'
export { memoryRefreshTokenStore, type MemoryRefreshTokenOptions } from './memory/refresh-tokens.js'
export { RevocationList, type RevocationListOptions, type RedisClient, type DependencyState } from './revocation-list.js'
export type { ApiKeyUsage } from './sql/api-key-usage.js'
