import type { FastifyRequest } from 'fastify'
import { INVALID_CREDENTIALS, type AuthOutcome, type WardenUser } from '../core/types.js'
import { authorizationCredentials, decodeBasic } from '../core/authorization.js'
import { afterCallback, callbackFault, checkGrant } from '../core/callback-results.js'
import { credentialRefused } from '../core/events.js'
import type { BasicAuthSettings } from './settings.js'

/** Decode `Basic` credentials of a user: as `decodeBasic`, and the user name must not be empty. */
export function parseBasic (encoded: string): { username: string, password: string } | undefined {
  const credentials = decodeBasic(encoded)
  return credentials === undefined || credentials.username === '' ? undefined : credentials
}

/** The scheme's `authenticate`: the user name and password of a request, checked by the app's `verify`. */
export function basicAuthenticator (
  { name, scopes, verify }: BasicAuthSettings
): (request: FastifyRequest) => AuthOutcome | Promise<AuthOutcome> {
  const refused = (request: FastifyRequest, reason: 'malformed' | 'rejected'): AuthOutcome =>
    credentialRefused(request, name, reason)

  /** What `verify` returned, checked: a wrong shape fails closed, undeclared scopes are dropped. */
  function accept (request: FastifyRequest, user: unknown): AuthOutcome {
    const grant = checkGrant(user, scopes)
    if (grant === null) return refused(request, 'rejected')
    if ('fault' in grant) {
      callbackFault(request, 'basicAuth.verify', grant.fault, grant.expected)
      return INVALID_CREDENTIALS
    }
    return Object.freeze({
      scheme: name,
      subject: grant.subject,
      scopes: grant.scopes,
      ...(grant.user === undefined ? {} : { user: grant.user as WardenUser })
    })
  }

  return function authenticate (request) {
    // RFC 7617 §2; any other scheme is another scheme's business.
    const encoded = authorizationCredentials(request.headers.authorization, 'basic')
    if (encoded === undefined) return null
    const credentials = parseBasic(encoded)
    if (credentials === undefined) return refused(request, 'malformed')
    return afterCallback(verify(credentials.username, credentials.password, request), (user) => accept(request, user))
  }
}
