import type { FastifyRequest } from 'fastify'
import { afterCallback, callbackFault } from './callback-results.js'
import { INVALID_CREDENTIALS, type AuthOutcome, type AuthPrincipal, type WardenUser } from './types.js'

/** An app's `resolveUser`: the current user behind a verified credential, or `null` to refuse it. */
export type ResolveUser<Credential> = (credential: Credential, request: FastifyRequest) => WardenUser | null | PromiseLike<WardenUser | null>

/**
 * The last step of every scheme that checks a credential the app issued to a user (a token, an
 * API key): the app's `resolveUser`, on every request (cached credentials too), so a disabled or
 * deleted account stops at once. `null` refuses the credential; a wrong shape fails closed.
 */
export function currentUser<Credential> (
  callback: string,
  resolve: ResolveUser<Credential>,
  refused: (request: FastifyRequest, principal: AuthPrincipal) => AuthOutcome
): (request: FastifyRequest, principal: AuthPrincipal, credential: Credential) => AuthOutcome | Promise<AuthOutcome> {
  return (request, principal, credential) => {
    const found = (user: unknown): AuthOutcome => {
      if (user === null) return refused(request, principal)
      if (typeof user !== 'object' || Array.isArray(user)) {
        callbackFault(request, callback, '(result)', 'must be an object or null')
        return INVALID_CREDENTIALS
      }
      return Object.freeze({ ...principal, user: Object.freeze(user as WardenUser) })
    }
    return afterCallback(resolve(credential, request), found)
  }
}
