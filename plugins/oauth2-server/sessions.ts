import { createHash, createHmac, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { AccessTokens } from '../oauth2-bearer/index.js'
import { securityEvent } from '../core/events.js'
import { serialised } from './serialised.js'
import { decideRotation, type ProofBinding } from './rotation.js'
import type { PresentedToken, RefreshFamily, Revocation, SessionStore } from './session-store.js'

/** What the token endpoint answers on success (RFC 6749 §5.1); `DPoP` for an access token bound to a key (RFC 9449 §5). */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  refresh_token?: string
  scope: string
}

/**
 * The shape of a refresh token, owned here: the prefix, then 256 bits in base64url (43
 * characters). The token endpoint's schema and `isRefreshToken` both read it from these.
 */
export const REFRESH_PREFIX = 'wdr_'
export const REFRESH_TOKEN_LENGTH = REFRESH_PREFIX.length + 43
export const REFRESH_TOKEN_PATTERN = `^${REFRESH_PREFIX}[A-Za-z0-9_-]{43}$`
const REFRESH_SHAPE = new RegExp(REFRESH_TOKEN_PATTERN)

/** Refresh tokens are 256 random bits: a plain SHA-256 digest is what is stored. */
const digest = (token: string): string => createHash('sha256').update(token).digest('base64url')
const newRefreshToken = (): string => REFRESH_PREFIX + randomBytes(32).toString('base64url')
/**
 * The successor of a token: an HMAC under its family's key, so a retry of the same token gets
 * the same successor without the successor being stored, and a token alone says nothing of it.
 */
const successorOf = (token: string, key: string | null): string =>
  key === null ? newRefreshToken() : REFRESH_PREFIX + createHmac('sha256', key).update(token).digest('base64url')
export const isRefreshToken = (token: string): boolean => REFRESH_SHAPE.test(token)

/** What an access token says of how its user authenticated (RFC 9470 §4) and of the key it is bound to (RFC 9449 §6). */
export interface TokenContext {
  /** When the login verified the user's credentials, seconds since the epoch: `auth_time`. */
  authTime?: number | null
  /** The authentication context class the login reached: `acr`. */
  acr?: string | null
  /** The thumbprint of the key of the request's DPoP proof: the token carries `cnf: { jkt }` and is a DPoP token. */
  jkt?: string
}

/** The grant a session starts with. */
export interface SessionGrant extends TokenContext, ProofBinding {
  subject: string
  scopes: readonly string[]
  clientId: string
  claims?: Record<string, unknown>
  credential?: number
}

export type { ProofBinding } from './rotation.js'

/** Whom a token was issued to, as a revocation checks it (RFC 7009 §2.1). */
export interface TokenOwner {
  /** The client it was issued to: a refresh family's, an access token's `client_id`. */
  clientId: unknown
  subject: unknown
  /** A refresh token's session. */
  session?: string
  /** The DPoP key that guards the token: its family's for a current refresh token, its `cnf.jkt` for an access token; null for none. */
  jkt: string | null
}

export interface Sessions {
  /** Sign an access token and, with a store, start a refresh-token family; undefined when the credential changed meanwhile. */
  start(grant: SessionGrant, refresh: boolean): Promise<TokenResponse | undefined>
  /** The family of a live refresh token (current or rotated), read only. */
  find(refreshToken: string): Promise<PresentedToken | null>
  /**
   * Rotate a presented refresh token and sign `scopes`, with the login's `auth_time` and `acr`,
   * bound to `key.jkt` when given (the key of the request's DPoP proof), the family too with
   * `key.bindRefresh` when it is not yet (in the same step as the rotation); undefined when the
   * token is refused.
   */
  refresh(
    refreshToken: string,
    presented: PresentedToken,
    scopes: (family: RefreshFamily) => Promise<readonly string[] | undefined>,
    request: FastifyRequest,
    key?: ProofBinding
  ): Promise<TokenResponse | undefined>
  /**
   * Run `task` for one refresh token at a time on this instance: concurrent presentations of a
   * token (a replay storm, two tabs) wait here in turn, each then reading what the one before
   * left (rotated, revoked), instead of all racing for its row lock.
   */
  serially<T>(refreshToken: string, task: () => Promise<T>): Promise<T>
  /**
   * RFC 7009: end what a token stands for, whatever kind it is, once `allowed` (given whom it was
   * issued to) returns; what it throws refuses the revocation. Unknown tokens are ignored.
   */
  revoke(token: string, hint: string | undefined, request: FastifyRequest, allowed: (owner: TokenOwner) => Promise<void>): Promise<void>
  /** End every session of a subject; their access tokens are refused from now on. */
  endAll(subject: string, reason: string, change?: { credential: number | null }): Promise<number>
  /** Whether a credential version is still the subject's current one (true without a store). */
  isCurrent(subject: string, credential: number): Promise<boolean>
}

interface SessionContext {
  readonly tokens: AccessTokens
  readonly store: SessionStore
  readonly reuseInterval: number
  /** A revocation of a whole session, until no access token of it can be valid. */
  sessionRevocation(familyId: string): Revocation
}

const CLOCK_TOLERANCE = 60

/** The app's claims first: what the library states of the session cannot be overridden by them. */
function answer (
  tokens: AccessTokens,
  subject: string,
  scopes: readonly string[],
  clientId: string,
  claims: Record<string, unknown>,
  { authTime, acr, jkt }: TokenContext,
  refreshToken?: string
): TokenResponse {
  const access = tokens.sign({
    ...claims,
    sub: subject,
    scope: scopes,
    client_id: clientId,
    ...(authTime == null ? {} : { auth_time: authTime }),
    ...(acr == null ? {} : { acr }),
    ...(jkt === undefined ? {} : { cnf: { jkt } })
  })
  return {
    access_token: access.token,
    token_type: jkt === undefined ? 'Bearer' : 'DPoP',
    expires_in: access.expiresIn,
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    scope: scopes.join(' ')
  }
}

/** A presented refresh token, turned into a successor (a retry: the same one again), or refused. */
async function rotate (
  ctx: SessionContext,
  refreshToken: string,
  presented: PresentedToken,
  scopesFor: (family: RefreshFamily) => Promise<readonly string[] | undefined>,
  request: FastifyRequest,
  key: ProofBinding
): Promise<TokenResponse | undefined> {
  const { store } = ctx
  const current = digest(refreshToken)
  // A session revoked by its sid (an administrator, another instance) refreshes no more.
  if (await store.revocations.isRevoked({ sid: presented.familyId })) {
    await store.refreshTokens.revokeByToken(current)
    return undefined
  }
  const next = successorOf(refreshToken, presented.successorKey)
  const rotation = await decideRotation(store.refreshTokens, presented, [current, digest(next)], ctx.reuseInterval * 1000, key)
  if (rotation.outcome === 'reused') {
    await store.revocations.revoke([ctx.sessionRevocation(rotation.familyId)])
    securityEvent(
      request,
      'auth.refresh.reuse_detected',
      { subject: rotation.subject, session: rotation.familyId, reason: 'rotated refresh token presented again' },
      'refresh token reuse: the session is revoked'
    )
    return undefined
  }
  if (rotation.outcome === 'invalid') return undefined
  const scopes = await scopesFor(rotation)
  if (scopes === undefined) {
    // The subject is gone or disabled: the session ends with it, its access tokens too.
    await store.refreshTokens.revokeByToken(digest(next))
    await store.revocations.revoke([ctx.sessionRevocation(rotation.familyId)])
    return undefined
  }
  securityEvent(request, 'auth.token.refreshed', {
    subject: rotation.subject,
    session: rotation.familyId,
    ...(rotation.outcome === 'retried' ? { retry: true } : {})
  })
  // A refresh is no new authentication: the login's auth_time and acr go on (RFC 9470 §4).
  const { authTime, acr } = rotation
  return answer(ctx.tokens, rotation.subject, scopes, rotation.clientId, { sid: rotation.familyId }, { authTime, acr, jkt: key.jkt }, next)
}

/**
 * RFC 7009: end what a token stands for, a session or one access token, once `allowed` lets it
 * (§2.1: it was issued to the caller); the hint only decides the order. A refresh token whose
 * family is no longer live is unknown: its session ended already.
 */
async function revoke (
  ctx: SessionContext,
  token: string,
  hint: string | undefined,
  request: FastifyRequest,
  allowed: (owner: TokenOwner) => Promise<void>
): Promise<void> {
  const { store, tokens } = ctx
  const asRefresh = async (): Promise<boolean> => {
    if (!isRefreshToken(token)) return false
    const live = await store.refreshTokens.find(digest(token))
    if (live === null) return false
    // The key guards the family's current token; one rotated already was spent, perhaps before the
    // binding, and may end its session as reuse detection would.
    await allowed({ clientId: live.clientId, subject: live.subject, session: live.familyId, jkt: live.rotatedAt === null ? live.jkt : null })
    const family = await store.refreshTokens.revokeByToken(digest(token))
    if (family === null) return false
    await store.revocations.revoke([ctx.sessionRevocation(family.familyId)])
    securityEvent(request, 'auth.token.revoked', { subject: family.subject, session: family.familyId, token_type: 'refresh_token' })
    return true
  }
  const asAccess = async (): Promise<boolean> => {
    const claims = await tokens.verify(token).catch(() => undefined)
    if (claims === undefined) return false
    const cnf = claims.cnf as { jkt?: unknown } | undefined
    await allowed({ clientId: claims.client_id, subject: claims.sub, jkt: typeof cnf?.jkt === 'string' ? cnf.jkt : null })
    await store.revocations.revoke([{ kind: 'jti', id: claims.jti as string, expiresAt: (claims.exp as number) + CLOCK_TOLERANCE }])
    securityEvent(request, 'auth.token.revoked', { subject: claims.sub, token_type: 'access_token' })
    // Stryker disable next-line BooleanLiteral: equivalent, what is tried after an access token is the refresh format, which it never has
    return true
  }
  if (hint === 'access_token') (await asAccess()) || (await asRefresh())
  else (await asRefresh()) || (await asAccess())
}

/**
 * Sessions are refresh-token families. Every access token issued in one carries it as `sid`,
 * so revoking a family also refuses the access tokens issued from it until they expire.
 */
export function createSessions (
  tokens: AccessTokens,
  store: SessionStore | undefined,
  options: { refreshTokenTtl: number; reuseInterval: number; now: () => number }
): Sessions {
  const { refreshTokenTtl, reuseInterval, now } = options
  const oneAtATime = serialised()
  const sessionRevocation = (familyId: string): Revocation => ({
    kind: 'sid',
    id: familyId,
    expiresAt: Math.floor(now() / 1000) + tokens.expiresIn + CLOCK_TOLERANCE
  })
  const ctx: SessionContext | undefined = store === undefined ? undefined : { tokens, store, reuseInterval, sessionRevocation }

  return {
    async start ({ subject, scopes, clientId, claims = {}, credential, authTime, acr, jkt, bindRefresh = false }, refresh) {
      const context = { authTime, acr, jkt }
      if (store === undefined || !refresh) return answer(tokens, subject, scopes, clientId, claims, context)
      const refreshToken = newRefreshToken()
      const familyId = await store.refreshTokens.createFamily({
        subject,
        scope: scopes.join(' '),
        clientId,
        expiresAt: new Date(now() + refreshTokenTtl * 1000),
        digest: digest(refreshToken),
        successorKey: randomBytes(32).toString('base64url'),
        ...(credential === undefined ? {} : { credential }),
        ...(authTime == null ? {} : { authTime }),
        ...(acr == null ? {} : { acr }),
        ...(bindRefresh && jkt !== undefined ? { jkt } : {})
      })
      if (familyId === null) return undefined
      return answer(tokens, subject, scopes, clientId, { ...claims, sid: familyId }, context, refreshToken)
    },
    async find (refreshToken) {
      if (store === undefined || !isRefreshToken(refreshToken)) return null
      return await store.refreshTokens.find(digest(refreshToken))
    },
    refresh: async (refreshToken, presented, scopesFor, request, key = {}) =>
      ctx === undefined ? undefined : await rotate(ctx, refreshToken, presented, scopesFor, request, key),
    serially: async (refreshToken, task) => await oneAtATime(digest(refreshToken), task),
    async revoke (token, hint, request, allowed) {
      if (ctx !== undefined) await revoke(ctx, token, hint, request, allowed)
    },
    async endAll (subject, reason, change) {
      if (store === undefined) return 0
      const families = await store.refreshTokens.revokeSubject(subject, reason, change?.credential)
      await store.revocations.revoke(families.map(sessionRevocation))
      return families.length
    },
    isCurrent: async (subject, credential) => store === undefined || (await store.refreshTokens.isCurrent(subject, credential))
  }
}
