import { createHash, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { AccessTokens } from '../oauth2-bearer.js'
import { securityEvent } from '../core/events.js'

/** A refresh-token family as the store keeps it: one login, every token of it as a digest. */
export interface RefreshFamily {
  familyId: string
  subject: string
  /** Space-separated scopes granted at login. */
  scope: string
  clientId: string
}

/** What presenting a refresh token led to. */
export type Rotation =
  | ({ outcome: 'rotated' } & RefreshFamily)
  /** The token had been rotated already: the whole family is now revoked (RFC 9700 §4.14.2). */
  | { outcome: 'reused', familyId: string, subject: string }
  | { outcome: 'invalid' }

/** Refresh-token families (one per login), keyed by SHA-256 digests of the tokens. */
export interface RefreshTokenStore {
  /** Start a family with its first token; returns the family id. */
  createFamily (family: { subject: string, scope: string, clientId: string, expiresAt: Date, digest: string }): Promise<string>
  /** The live family of an unrotated token, without changing anything; null otherwise. */
  find (digest: string): Promise<RefreshFamily | null>
  /** Swap `digest` for `nextDigest` in one transaction, or detect reuse and revoke the family. */
  rotate (digest: string, nextDigest: string): Promise<Rotation>
  /** Revoke the family of a token (RFC 7009); null for an unknown token. */
  revokeByToken (digest: string): Promise<{ familyId: string, subject: string } | null>
  /** Revoke every live family of a subject (password change, deletion); returns their ids. */
  revokeSubject (subject: string, reason: string): Promise<string[]>
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
}

/** The storage of sessions: refresh-token families and revoked token ids. */
export interface SessionStore {
  refreshTokens: RefreshTokenStore
  revocations: RevocationSink
}

/** What the token endpoint answers on success (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token?: string
  scope: string
}

export const REFRESH_PREFIX = 'wdr_'
const REFRESH_LENGTH = 47

/** Refresh tokens are 256 random bits: a plain SHA-256 digest is what is stored. */
const digest = (token: string): string => createHash('sha256').update(token).digest('base64url')
const newRefreshToken = (): string => REFRESH_PREFIX + randomBytes(32).toString('base64url')
export const isRefreshToken = (token: string): boolean => token.startsWith(REFRESH_PREFIX) && token.length === REFRESH_LENGTH

export interface Sessions {
  /** Sign an access token and, with a store, start a refresh-token family. */
  start (grant: { subject: string, scopes: readonly string[], clientId: string, claims?: Record<string, unknown> }, refresh: boolean): Promise<TokenResponse>
  /** The family of a live refresh token, read only. */
  find (refreshToken: string): Promise<RefreshFamily | null>
  /** Rotate a refresh token and sign `scopes`; undefined when the token is refused. */
  refresh (refreshToken: string, scopes: (family: RefreshFamily) => Promise<readonly string[] | undefined>, request: FastifyRequest): Promise<TokenResponse | undefined>
  /** RFC 7009: end what a token stands for, whatever kind it is; unknown tokens are ignored. */
  revoke (token: string, hint: string | undefined, request: FastifyRequest): Promise<void>
  /** End every session of a subject; their access tokens are refused from now on. */
  endAll (subject: string, reason: string): Promise<number>
}

/**
 * Sessions are refresh-token families. Every access token issued in one carries it as `sid`,
 * so revoking a family also refuses the access tokens issued from it until they expire.
 */
export function createSessions (tokens: AccessTokens, store: SessionStore | undefined, refreshTokenTtl: number, now: () => number): Sessions {
  const clockTolerance = 60
  const until = (): number => Math.floor(now() / 1000) + tokens.expiresIn + clockTolerance
  const sessionRevocation = (familyId: string): Revocation => ({ kind: 'sid', id: familyId, expiresAt: until() })

  function answer (subject: string, scopes: readonly string[], clientId: string, claims: Record<string, unknown>, refreshToken?: string): TokenResponse {
    const access = tokens.sign({ ...claims, sub: subject, scope: scopes, client_id: clientId })
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }), scope: scopes.join(' ') }
  }

  return {
    async start ({ subject, scopes, clientId, claims = {} }, refresh) {
      if (store === undefined || !refresh) return answer(subject, scopes, clientId, claims)
      const refreshToken = newRefreshToken()
      const familyId = await store.refreshTokens.createFamily({
        subject, scope: scopes.join(' '), clientId, expiresAt: new Date(now() + refreshTokenTtl * 1000), digest: digest(refreshToken)
      })
      return answer(subject, scopes, clientId, { ...claims, sid: familyId }, refreshToken)
    },

    async find (refreshToken) {
      if (store === undefined || !isRefreshToken(refreshToken)) return null
      return await store.refreshTokens.find(digest(refreshToken))
    },

    async refresh (refreshToken, scopesFor, request) {
      if (store === undefined || !isRefreshToken(refreshToken)) return undefined
      const next = newRefreshToken()
      const rotation = await store.refreshTokens.rotate(digest(refreshToken), digest(next))
      if (rotation.outcome === 'reused') {
        await store.revocations.revoke([sessionRevocation(rotation.familyId)])
        securityEvent(request, 'auth.refresh.reuse_detected', { subject: rotation.subject, session: rotation.familyId, reason: 'rotated refresh token presented again' }, 'refresh token reuse: the session is revoked')
        return undefined
      }
      if (rotation.outcome === 'invalid') return undefined
      const scopes = await scopesFor(rotation)
      if (scopes === undefined) {
        // The subject is gone or disabled: the session ends with it.
        await store.refreshTokens.revokeByToken(digest(next))
        await store.revocations.revoke([sessionRevocation(rotation.familyId)])
        return undefined
      }
      securityEvent(request, 'auth.token.refreshed', { subject: rotation.subject, session: rotation.familyId })
      return answer(rotation.subject, scopes, rotation.clientId, { sid: rotation.familyId }, next)
    },

    async revoke (token, hint, request) {
      if (store === undefined) return
      const asRefresh = async (): Promise<boolean> => {
        if (!isRefreshToken(token)) return false
        const family = await store.refreshTokens.revokeByToken(digest(token))
        if (family === null) return false
        await store.revocations.revoke([sessionRevocation(family.familyId)])
        securityEvent(request, 'auth.token.revoked', { subject: family.subject, session: family.familyId, token_type: 'refresh_token' })
        return true
      }
      const asAccess = async (): Promise<boolean> => {
        const claims = await tokens.verify(token).catch(() => undefined)
        if (claims === undefined) return false
        await store.revocations.revoke([{ kind: 'jti', id: claims.jti as string, expiresAt: (claims.exp as number) + clockTolerance }])
        securityEvent(request, 'auth.token.revoked', { subject: claims.sub, token_type: 'access_token' })
        return true
      }
      // The hint only decides the order (RFC 7009 §2.1).
      if (hint === 'access_token') await asAccess() || await asRefresh()
      else await asRefresh() || await asAccess()
    },

    async endAll (subject, reason) {
      if (store === undefined) return 0
      const families = await store.refreshTokens.revokeSubject(subject, reason)
      await store.revocations.revoke(families.map(sessionRevocation))
      return families.length
    }
  }
}
