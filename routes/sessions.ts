import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { securityEvent } from '../plugins/index.js'
import type { Stores } from '../stores/index.js'
import type { User } from '../stores/users.js'

/** What the token endpoint answers on success (RFC 6749 §5.1). */
export interface TokenPair {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
  scope: string
}

export interface Sessions {
  /** A new session (refresh-token family) for a user who just logged in. */
  start (user: User, scopes: readonly string[]): Promise<TokenPair>
  /** Rotate a refresh token; `scopes` narrows the access token. Undefined for a refused token. */
  refresh (refreshToken: string, narrow: (user: User, familyScopes: string[]) => string[] | undefined, request: FastifyRequest): Promise<TokenPair | undefined>
  /** RFC 7009: end what a token stands for, whatever kind it is; unknown tokens are ignored. */
  revoke (token: string, hint: string | undefined, request: FastifyRequest): Promise<void>
  /** End every session of a user (password change, deletion). */
  endAll (userId: string, reason: string): Promise<number>
}

const REFRESH_PREFIX = 'wdr_'

/** Refresh tokens are 256 random bits: a plain SHA-256 digest is what is stored. */
const digest = (token: string): string => createHash('sha256').update(token).digest('base64url')

/**
 * Sessions are refresh-token families. Every access token carries its family as `sid`, so
 * revoking a family also refuses the access tokens issued from it until they expire.
 */
export function createSessions (app: Pick<FastifyInstance, 'accessTokens'>, stores: Stores, refreshTokenTtl: number, clockTolerance = 30): Sessions {
  const accessTtl = app.accessTokens.expiresIn
  const sessionRevocation = (familyId: string): { kind: 'sid', id: string, expiresAt: number } =>
    ({ kind: 'sid', id: familyId, expiresAt: Math.floor(Date.now() / 1000) + accessTtl + clockTolerance })

  function pair (userId: string, familyId: string, scopes: readonly string[], refreshToken: string): TokenPair {
    const access = app.accessTokens.sign({ sub: userId, scope: scopes, sid: familyId })
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refreshToken, scope: scopes.join(' ') }
  }

  const newRefreshToken = (): string => REFRESH_PREFIX + randomBytes(32).toString('base64url')

  return {
    async start (user, scopes) {
      const refreshToken = newRefreshToken()
      const familyId = await stores.refreshTokens.createFamily({
        userId: user.id, scope: scopes.join(' '), expiresAt: new Date(Date.now() + refreshTokenTtl * 1000), digest: digest(refreshToken)
      })
      return pair(user.id, familyId, scopes, refreshToken)
    },

    async refresh (refreshToken, narrow, request) {
      if (!refreshToken.startsWith(REFRESH_PREFIX) || refreshToken.length !== 47) return undefined
      const next = newRefreshToken()
      const rotation = await stores.refreshTokens.rotate(digest(refreshToken), digest(next))
      if (rotation.outcome === 'reused') {
        await stores.revocations.revoke([sessionRevocation(rotation.familyId)])
        securityEvent(request, 'auth.refresh.reuse_detected', { subject: rotation.userId, session: rotation.familyId, reason: 'rotated refresh token presented again' }, 'refresh token reuse: the session is revoked')
        return undefined
      }
      if (rotation.outcome === 'invalid') return undefined
      const user = await stores.users.findById(rotation.userId)
      if (user === null || !user.active) return undefined
      const scopes = narrow(user, rotation.scope.split(' ').filter(Boolean))
      if (scopes === undefined) return undefined
      securityEvent(request, 'auth.token.refreshed', { subject: user.id, session: rotation.familyId })
      return pair(user.id, rotation.familyId, scopes, next)
    },

    async revoke (token, hint, request) {
      const asRefresh = async (): Promise<boolean> => {
        if (!token.startsWith(REFRESH_PREFIX)) return false
        const family = await stores.refreshTokens.revokeByToken(digest(token))
        if (family === null) return false
        await stores.revocations.revoke([sessionRevocation(family.familyId)])
        securityEvent(request, 'auth.token.revoked', { subject: family.userId, session: family.familyId, token_type: 'refresh_token' })
        return true
      }
      const asAccess = async (): Promise<boolean> => {
        const claims = await app.accessTokens.verify(token).catch(() => undefined)
        if (claims === undefined) return false
        await stores.revocations.revoke([{ kind: 'jti', id: claims.jti as string, expiresAt: (claims.exp as number) + clockTolerance }])
        securityEvent(request, 'auth.token.revoked', { subject: claims.sub, token_type: 'access_token' })
        return true
      }
      // The hint only decides the order (RFC 7009 §2.1).
      if (hint === 'access_token') await asAccess() || await asRefresh()
      else await asRefresh() || await asAccess()
    },

    async endAll (userId, reason) {
      const families = await stores.refreshTokens.revokeUser(userId, reason)
      await stores.revocations.revoke(families.map(sessionRevocation))
      return families.length
    }
  }
}
