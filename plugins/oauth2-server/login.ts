import type { FastifyRequest } from 'fastify'
import { securityEvent } from '../core/events.js'
import { callbackFault, checkGrant } from '../core/callbacks.js'
import type { LoginAttempts } from './lockout.js'

/** What the app's user verifier says of a user: who they are and what they may be granted. */
export interface UserGrant {
  /** Stable identifier of the user: the access token's `sub`. */
  subject: string
  /** Every scope the user may be granted; a token gets those of them that were asked for (all when none were). */
  scopes: readonly string[]
  /** Extra claims for the access token (e.g. `tenant_id`); registered claims are refused by the signer. */
  claims?: Record<string, unknown>
}

export type VerifyUser = (username: string, password: string, request: FastifyRequest) => UserGrant | null | Promise<UserGrant | null>

/** A login's outcome: the user, a refusal (`null`), or a lock (seconds to wait). */
export type LoginResult = { grant: UserGrant } | { lockedFor: number } | null

/**
 * A user name and password against the app's verifier, behind the account lockout: while an
 * account is locked no password is checked; consecutive failures lock it; a success resets it.
 * The lock is a second line behind the rate limits: if its store fails, logins go on (logged).
 */
export function createLogin (verifyUser: VerifyUser, attempts: LoginAttempts | undefined, scopes: ReadonlySet<string>) {
  const safely = async <T>(request: FastifyRequest, action: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await action()
    } catch (err) {
      request.log.error({ err }, 'login-attempt store unavailable')
      return fallback
    }
  }

  return async function login (username: string, password: string, request: FastifyRequest): Promise<LoginResult> {
    if (attempts !== undefined) {
      const locked = await safely(request, async () => await attempts.lockedFor(username), 0)
      if (locked > 0) {
        securityEvent(request, 'auth.login.locked', { reason: 'account locked after failed logins', retry_after: locked })
        return { lockedFor: locked }
      }
    }
    const grant = checkUserGrant(request, 'verifyUser', await verifyUser(username, password, request), scopes)
    if (grant === null) {
      const lock = attempts === undefined ? 0 : await safely(request, async () => await attempts.fail(username), 0)
      securityEvent(request, 'auth.login.failed', { reason: 'invalid credentials', ...(lock > 0 ? { locked_for: lock } : {}) })
      return null
    }
    if (attempts !== undefined) await safely(request, async () => { await attempts.reset(username) }, undefined)
    return { grant }
  }
}

export type Login = ReturnType<typeof createLogin>

/**
 * A user name and password through your verifier behind the account lockout, for HTTP Basic
 * (`basicAuth({ verify })`) with or without the token endpoint: what `oauth2Server` uses inside.
 * Give both the same lockout store so failures count once, wherever they happen.
 */
export function passwordLogin (options: { verifyUser: VerifyUser, lockout?: LoginAttempts, scopes: ReadonlySet<string> | readonly string[] }): Login {
  return createLogin(options.verifyUser, options.lockout, new Set(options.scopes))
}

/**
 * What the app's verifier returned, checked: a wrong shape fails closed (no grant, the fault
 * logged naming the callback and field), and only scopes the scheme grants are kept.
 */
export function checkUserGrant (request: FastifyRequest, callback: string, value: unknown, scopes: ReadonlySet<string>): UserGrant | null {
  const grant = checkGrant(value, scopes)
  if (grant === null) return null
  if ('fault' in grant) {
    callbackFault(request, callback, grant.fault, grant.expected)
    return null
  }
  const claims = (value as { claims?: unknown }).claims
  if (claims !== undefined && (claims === null || typeof claims !== 'object' || Array.isArray(claims))) {
    callbackFault(request, callback, 'claims', 'must be an object')
    return null
  }
  return { subject: grant.subject, scopes: grant.scopes, ...(claims === undefined ? {} : { claims: claims as Record<string, unknown> }) }
}
