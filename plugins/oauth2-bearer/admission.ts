import type { FastifyRequest } from 'fastify'
import { afterCallback, callbackFault } from '../core/callback-results.js'
import { INVALID_CREDENTIALS, type AuthOutcome, type AuthPrincipal, type WardenClaims } from '../core/types.js'
import { currentUser } from '../core/current-user.js'
import type { RefusalKind } from '../errors.js'
import type { BearerSettings } from './settings.js'

type Refuse = (request: FastifyRequest, kind: RefusalKind, detail: string, claims?: WardenClaims) => AuthOutcome

/**
 * What a verified token must still pass, on every request (cached tokens too): the app's
 * revocation check, then its current user. A callback's wrong answer fails closed.
 */
export function admission (
  settings: Pick<BearerSettings, 'isRevoked' | 'resolveUser'>,
  refused: Refuse
): (request: FastifyRequest, principal: AuthPrincipal) => AuthOutcome | Promise<AuthOutcome> {
  const { isRevoked, resolveUser } = settings
  const user =
    resolveUser === undefined
      ? undefined
      : currentUser<WardenClaims>('resolveUser', resolveUser, (request, principal) => refused(request, 'user', 'resolveUser found no user', principal.claims))
  const withUser = (request: FastifyRequest, principal: AuthPrincipal): AuthOutcome | Promise<AuthOutcome> =>
    user === undefined ? principal : user(request, principal, principal.claims as WardenClaims)

  return function admit (request, principal) {
    if (isRevoked === undefined) return withUser(request, principal)
    const decide = (revoked: unknown): AuthOutcome | Promise<AuthOutcome> => {
      if (revoked === false) return withUser(request, principal)
      if (revoked === true) return refused(request, 'revoked', 'isRevoked', principal.claims)
      // Anything but a boolean fails closed: a missing `return` must not let a revoked token in.
      callbackFault(request, 'isRevoked', '(result)', 'must be a boolean')
      return INVALID_CREDENTIALS
    }
    return afterCallback(isRevoked(principal.claims as WardenClaims, request), decide)
  }
}
