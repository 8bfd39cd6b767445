/**
 * The storage of sessions, as `oauth2Server` asks for it: refresh-token families and revoked
 * token ids. `fastify-warden/stores` implements it in SQL (PGlite or PostgreSQL) and in memory.
 */

/** A refresh-token family as the store keeps it: one login, every token of it as a digest. */
export interface RefreshFamily {
  familyId: string
  subject: string
  /** Space-separated scopes granted at login. */
  scope: string
  clientId: string
  /** The credential version the login checked (`UserGrant.credential`); null when the verifier reports none. */
  credential: number | null
  /**
   * When the login verified the user's credentials, seconds since the epoch: every access token
   * of the family carries it as `auth_time` (RFC 9470 §4), a refresh being no new authentication.
   */
  authTime: number | null
  /** The authentication context class the login reached (`UserGrant.acr`), carried as `acr`; null when none was reported. */
  acr: string | null
  /**
   * The JWK SHA-256 thumbprint of the DPoP key the family's refresh tokens are bound to (a public
   * client's, RFC 9449 §5, from its login or its first refresh with a proof): a refresh must come
   * with a proof of that key. Null: unbound.
   */
  jkt: string | null
}

/** A presented refresh token whose family is live: the current one, or one already rotated. */
export interface PresentedToken extends RefreshFamily {
  /** When the token was rotated, ms since the epoch; null while it is the family's current token. */
  rotatedAt: number | null
  /** The family's key for successors (a retry within the reuse interval gets the same one); null for none. */
  successorKey: string | null
}

/**
 * What presenting a refresh token led to, as `sessions.ts` decides it from what the store
 * reports: the store keeps the tokens, the library applies the rule.
 */
export type Rotation =
  | ({ outcome: 'rotated' } & RefreshFamily)
  /** Rotated already, within the reuse interval, into the successor given, which is still current: nothing changed. */
  | ({ outcome: 'retried' } & RefreshFamily)
  /** The token had been rotated already: the whole family is now revoked (RFC 9700 §4.14.2). */
  | { outcome: 'reused', familyId: string, subject: string }
  | { outcome: 'invalid' }

/**
 * Refresh-token families (one per login), keyed by SHA-256 digests of the tokens: the store
 * never sees a token. It offers primitives, each one atomic step; the rule of reuse (a rotated
 * token presented again revokes its family, RFC 9700 §4.14.2, unless it is a retry within the
 * reuse interval) is the library's, built on them, so every store applies the same one.
 *
 * A family is live until it expires, is revoked, or its credential version is older than the
 * subject's current one (`revokeSubject` records a new one; `null` for a subject that is gone,
 * which no version satisfies). Times (`rotatedAt`, expiry) are read on the store's clock, `now`.
 */
export interface RefreshTokenStore {
  /**
   * Start a family with its first token; returns the family id, or null (nothing stored) when
   * `credential` is older than the subject's current one, or the subject is gone.
   */
  createFamily (family: {
    subject: string
    scope: string
    clientId: string
    expiresAt: Date
    digest: string
    successorKey: string
    credential?: number
    authTime?: number
    acr?: string
    jkt?: string
  }): Promise<string | null>
  /** The token's family while it is live (the token current or rotated), without changing anything; null otherwise. */
  find (digest: string): Promise<PresentedToken | null>
  /**
   * Compare and swap: while `digest` is its live family's current token, mark it rotated (now)
   * and add `nextDigest` as the current one, and with `bind` (the key of a public client's DPoP
   * proof, RFC 9449 §5) set it as the family's `jkt` if the family has none (a bound family keeps
   * its key), in one atomic step, and return the family as it is then. Null, and nothing
   * changed, when it is not: rotated already (by a concurrent call too), unknown, or its family
   * is not live. Of any number of concurrent calls for one token, one succeeds.
   */
  rotate (digest: string, nextDigest: string, bind?: string): Promise<RefreshFamily | null>
  /** Revoke a family, giving the reason; true when this call revoked it, false when it was already (or is unknown). */
  revokeFamily (familyId: string, reason: string): Promise<boolean>
  /** Revoke the family of a token (RFC 7009); null for an unknown token. */
  revokeByToken (digest: string): Promise<{ familyId: string, subject: string } | null>
  /**
   * Revoke every live family of a subject (password change, deletion); returns their ids. With
   * `credential`, first record it as the subject's current version (`null`: the subject is gone)
   * and revoke only the families of older ones, in the same atomic step.
   */
  revokeSubject (subject: string, reason: string, credential?: number | null): Promise<string[]>
  /** Whether `credential` is not older than the subject's current version (true when none is recorded). */
  isCurrent (subject: string, credential: number): Promise<boolean>
  /** The store's clock, ms since the epoch, that `rotatedAt` and expiry are read on. Default `Date.now`. */
  now? (): number
}

/** Access tokens are revoked by their own id (`jti`) or by their session (`sid`, the refresh family). */
export interface Revocation {
  kind: 'jti' | 'sid'
  id: string
  /** Seconds since the epoch; after it no token naming this id can be valid anyway. */
  expiresAt: number
}

/** Where revoked ids go; the `oauth2Bearer` scheme's `isRevoked` must read the same list. */
export interface RevocationSink {
  revoke (revocations: readonly Revocation[]): Promise<void>
  /** Whether a token's id or session is revoked: a session revoked by its `sid` refreshes no more. */
  isRevoked (claims: { jti?: unknown, sid?: unknown }): boolean | PromiseLike<boolean>
}

/** The storage of sessions: refresh-token families and revoked token ids. */
export interface SessionStore {
  refreshTokens: RefreshTokenStore
  revocations: RevocationSink
}
