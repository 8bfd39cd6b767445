import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../errors.js'
import { schemeOptions } from '../core/option-checks.js'
import { INVALID_CREDENTIALS, type AuthOutcome, type WardenUser } from '../core/types.js'
import { authorizationCredentials, decodeBasic } from '../core/authorization.js'
import { afterCallback, callbackFault, checkGrant } from '../core/callback-results.js'
import { credentialRefused } from '../core/events.js'

/** What `verify` returns for a valid user name and password. */
export interface BasicAuthUser {
  subject: string
  scopes: readonly string[]
  user?: WardenUser
}

export interface BasicAuthOptions {
  /** Scheme name. Default `'basic'`. */
  name?: string
  realm?: string
  description?: string
  /**
   * Check a user name and password; `null` when they do not match. Use a `PasswordHasher`
   * (`createPasswordHasher()`), whose `verify(undefined, password)` checks a dummy hash, so an
   * unknown user takes as long as a wrong password.
   */
  verify: (username: string, password: string, request: FastifyRequest) => BasicAuthUser | null | PromiseLike<BasicAuthUser | null>
  /** Scopes this scheme grants; a subset of the core's catalog, all of it by default. */
  scopes?: string[]
}

/** Decode `Basic` credentials of a user: as `decodeBasic`, and the user name must not be empty. */
export function parseBasic (encoded: string): { username: string, password: string } | undefined {
  const credentials = decodeBasic(encoded)
  return credentials === undefined || credentials.username === '' ? undefined : credentials
}

const basicAuthPlugin: FastifyPluginAsync<BasicAuthOptions> = async (fastify, opts) => {
  const warden = fastify.warden
  const { name, realm, scopes } = schemeOptions(warden, opts, 'basic')
  if (typeof opts.verify !== 'function') throw new errors.WARDEN_ERR_OPTION('verify', 'must be a function (username, password, request) => user | null')
  const verify = opts.verify

  const refused = (request: FastifyRequest, reason: 'malformed' | 'rejected'): AuthOutcome => credentialRefused(request, name, reason)

  /** What `verify` returned, checked: a wrong shape fails closed, undeclared scopes are dropped. */
  function accept (request: FastifyRequest, user: unknown): AuthOutcome {
    const grant = checkGrant(user, scopes)
    if (grant === null) return refused(request, 'rejected')
    if ('fault' in grant) {
      callbackFault(request, 'basicAuth.verify', grant.fault, grant.expected)
      return INVALID_CREDENTIALS
    }
    return Object.freeze({ scheme: name, subject: grant.subject, scopes: grant.scopes, ...(grant.user === undefined ? {} : { user: grant.user as WardenUser }) })
  }

  function authenticate (request: FastifyRequest): AuthOutcome | Promise<AuthOutcome> {
    const encoded = authorizationCredentials(request.headers.authorization, 'basic')
    if (encoded === undefined) return null
    const credentials = parseBasic(encoded)
    if (credentials === undefined) return refused(request, 'malformed')
    return afterCallback(verify(credentials.username, credentials.password, request), (user) => accept(request, user))
  }

  warden.addScheme({
    name,
    scopes,
    openapi: { type: 'http', scheme: 'basic', description: opts.description ?? 'HTTP Basic (RFC 7617) with a user name and password, UTF-8.' },
    challenge: warden.challenge('Basic', [['realm', realm], ['charset', 'UTF-8']], false),
    authenticate
  })
}

/** HTTP Basic scheme (RFC 7617). */
export const basicAuth = fp(basicAuthPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/basic-auth',
  dependencies: ['fastify-warden']
})
export default basicAuth
