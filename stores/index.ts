import { openDatabase, type Database } from './database.js'
import { migrate } from './migrations.js'
import { sqlUserStore, type UserStore } from './users.js'
import { sqlApiKeyStore, type ApiKeyStore } from './api-keys.js'
import { sqlRefreshTokenStore } from './refresh-tokens.js'
import type { RefreshTokenStore } from '../plugins/oauth2-server/sessions.js'
import { sqlRevocationStore } from './revocations.js'
import { RevocationList } from './revocation-list.js'
import { ApiKeyUsage } from './api-key-usage.js'

export interface Stores {
  db: Database
  /** Delete rows that can no longer matter: expired or long-revoked sessions, expired revocations. */
  purge (): Promise<{ sessions: number, revocations: number }>
  users: UserStore
  apiKeys: ApiKeyStore
  refreshTokens: RefreshTokenStore
  revocations: RevocationList
  apiKeyUsage: ApiKeyUsage
  close (): Promise<void>
}

export interface StoreOptions {
  /** An open database, or a URL for `openDatabase()`. */
  database: Database | string
  redisUrl?: string
  /** Prefix of Redis keys and channels. */
  redisNamespace?: string
  onApiKeyRevoked?: (prefix: string) => void
  onError?: (err: Error) => void
  /** Interval of batched API-key use records (ms). */
  usageInterval?: number
  /** Interval of revocation rereads from the database (ms). */
  revocationPollInterval?: number
  /** How often expired refresh-token families and revoked ids are deleted (ms). Default 1 hour. */
  purgeInterval?: number
}

/** Open (and migrate) the database and build every store on it. */
export async function openStores (options: StoreOptions): Promise<Stores> {
  const db = typeof options.database === 'string' ? await openDatabase(options.database) : options.database
  try {
    await migrate(db)
    const apiKeys = sqlApiKeyStore(db)
    const revocationStore = sqlRevocationStore(db)
    const refreshTokens = sqlRefreshTokenStore(db)
    const revocations = await RevocationList.open({
      store: revocationStore,
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      ...(options.redisNamespace === undefined ? {} : { namespace: options.redisNamespace }),
      ...(options.revocationPollInterval === undefined ? {} : { pollInterval: options.revocationPollInterval }),
      ...(options.onApiKeyRevoked === undefined ? {} : { onApiKeyRevoked: options.onApiKeyRevoked }),
      ...(options.onError === undefined ? {} : { onError: options.onError })
    })
    const apiKeyUsage = new ApiKeyUsage(apiKeys, options.usageInterval, options.onError)
    const purge = async (): Promise<{ sessions: number, revocations: number }> =>
      ({ sessions: await refreshTokens.purge(), revocations: await revocationStore.purge() })
    // No table grows without bound: what cannot be used any more is deleted on a schedule.
    const purging = setInterval(() => { purge().catch((err: Error) => options.onError?.(err)) }, options.purgeInterval ?? 3_600_000)
    purging.unref()
    return {
      db,
      purge,
      users: sqlUserStore(db),
      apiKeys,
      refreshTokens,
      revocations,
      apiKeyUsage,
      async close () {
        clearInterval(purging)
        await apiKeyUsage.close()
        await revocations.close()
        await db.close()
      }
    }
  } catch (err) {
    await db.close()
    throw err
  }
}

export { openDatabase, migrate }
export type { Database } from './database.js'
export { DuplicateError } from './errors.js'
