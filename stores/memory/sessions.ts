import type { Revocation, RevocationSink, SessionStore } from '../../plugins/oauth2-server/session-store.js'
import { memoryRefreshTokenStore, type MemoryRefreshTokenOptions } from './refresh-tokens.js'

export interface MemoryRevocations extends RevocationSink {
  isRevoked (claims: { jti?: unknown, sid?: unknown }): boolean
  /** Revocations held, in force or not yet swept. */
  readonly size: number
}

/**
 * Revoked token ids in memory. Never bounded by dropping entries (a dropped revocation would let
 * its token through again): each leaves when no token naming it can be valid any more, so the
 * list holds at most what was revoked within one access-token lifetime.
 */
export function memoryRevocations (now: () => number = Date.now): MemoryRevocations {
  const revoked = new Map<string, number>()
  let sweptAt = 0
  const key = (kind: Revocation['kind'], id: string): string => `${kind}\u0000${id}`
  const inForce = (k: string): boolean => (revoked.get(k) ?? 0) > now() / 1000
  const sweep = (): void => {
    for (const [k, expiresAt] of revoked) if (expiresAt <= now() / 1000) revoked.delete(k)
    sweptAt = revoked.size
  }
  return {
    get size () { return revoked.size },
    async revoke (revocations) {
      for (const { kind, id, expiresAt } of revocations) {
        const k = key(kind, id)
        revoked.set(k, Math.max(revoked.get(k) ?? 0, expiresAt))
      }
      // Swept each time the list doubles: the work stays proportional to what was added.
      if (revoked.size >= Math.max(2 * sweptAt, 1000)) sweep()
    },
    isRevoked ({ jti, sid }) {
      return (typeof jti === 'string' && inForce(key('jti', jti))) ||
        (typeof sid === 'string' && inForce(key('sid', sid)))
    }
  }
}

export interface MemorySessionStore extends SessionStore {
  readonly refreshTokens: ReturnType<typeof memoryRefreshTokenStore>
  readonly revocations: MemoryRevocations
  /** For `oauth2Bearer`'s `isRevoked`: whether a token's `jti` or session (`sid`) is revoked. */
  isRevoked (claims: { jti?: unknown, sid?: unknown }): boolean
}

/**
 * Sessions in memory, for tests and small apps of one instance: give it to `oauth2Server` as
 * `sessions`, its `isRevoked` to `oauth2Bearer`. Everything is lost when the process ends (every
 * user logs in again), and several instances would not see each other's sessions: use
 * `wardenStores` on a database for those.
 */
export function memorySessionStore (options: MemoryRefreshTokenOptions = {}): MemorySessionStore {
  const refreshTokens = memoryRefreshTokenStore(options)
  const revocations = memoryRevocations(options.now)
  return { refreshTokens, revocations, isRevoked: (claims) => revocations.isRevoked(claims) }
}
