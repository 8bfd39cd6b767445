import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { clientAuthenticator } from './clients.js'
import { createLogin, isAcr, type UserGrant } from './login.js'
import { createSessions } from './sessions.js'
import { registerEndpoints } from './endpoints.js'
import { issueTokens, type ProofOf } from './grants.js'
import { requestedScopes } from './protocol.js'
import { InvalidDpopProof, OAuthFailure, errors } from '../errors.js'
import type { AccessTokens } from '../oauth2-bearer/options.js'
import { isEpochSeconds } from '../core/callback-results.js'
import { serverSettings, type IssueTokensOptions, type OAuth2Server, type OAuth2ServerOptions } from './options.js'

export type { IssueTokensOptions, OAuth2Server, OAuth2ServerOptions } from './options.js'

/**
 * The authorization-server half for the app's own users: `POST` token (password,
 * refresh_token with rotation and reuse detection, client_credentials), RFC 7009 revocation,
 * RFC 8414 metadata, RFC 6749 §5.2 errors, `no-store`, its own form parser, account lockout and
 * a per-address limit. The app gives it a user verifier and, for sessions, a store. With the
 * bearer scheme's `dpop`, a token request's DPoP proof binds the tokens (RFC 9449 §5).
 */
const serverPlugin: FastifyPluginAsync<OAuth2ServerOptions> = async (fastify, opts) => {
  const settings = serverSettings(fastify, opts)
  const tokens = fastify.accessTokens
  // At registration, not at the first login: a token endpoint whose scheme cannot sign issues nothing.
  if (!tokens.signs) {
    throw new errors.WARDEN_ERR_SIGN(
      `the token endpoint needs a scheme that signs, and '${tokens.scheme}' verifies another issuer's tokens (no secret or signingKey)`
    )
  }
  const proofOf = proofsOf(tokens)
  const sessions = createSessions(tokens, settings.sessions, settings)
  const verifyUser = settings.verifyUser ?? (() => null)
  const login = createLogin(verifyUser, tokens.scopes, settings.login, sessions.isCurrent, settings.roles)
  fastify.decorate('oauth2Server', {
    login,
    endSessions: sessions.endAll,
    unlock: login.unlock,
    async issueTokens (grant, request, options = {}) {
      checkIssue(grant, options)
      // The password grant's checks on the scope asked for: known to the scheme, or invalid_scope.
      const wanted = options.scopes === undefined
        ? undefined
        : requestedScopes({ scope: options.scopes.join(' ') }, tokens.scopes)
      const clientId = options.clientId ?? settings.publicClientId
      // The app checked the login before calling: the proof is used now, its key binds the session.
      const proof = options.dpop === false ? undefined : proofOf(request)
      await proof?.use()
      const key = proof === undefined ? {} : { jkt: proof.jkt, bindRefresh: true }
      return await issueTokens({ tokens, sessions, settings }, request, grant, clientId, wanted, key)
    }
  } satisfies OAuth2Server)
  // The bearer scheme's document shows this endpoint's flows: the core composes them.
  // Its URL as clients call it: under the prefix of the context it is registered in.
  // (Fastify joins a prefix ending in '/' and a path without doubling the slash; so does this.)
  fastify.warden.addTokenEndpoint(tokens.scheme, { url: fastify.prefix.replace(/\/$/, '') + settings.tokenPath, grants: settings.grants })
  const authenticateClient = clientAuthenticator(settings.clients, tokens.scopes, settings.realm, settings.publicClientId)
  await registerEndpoints(fastify, { settings, tokens, sessions, login, authenticateClient, proofOf })
}

/** What `issueTokens` is given is the app's code, not a client's input: a wrong shape is a programming error. */
function checkIssue (grant: UserGrant, options: IssueTokensOptions): void {
  const { subject, scopes, acr, authTime } = (grant ?? {}) as Partial<UserGrant>
  if (typeof subject !== 'string' || subject === '' || !Array.isArray(scopes)) {
    throw new errors.WARDEN_ERR_OPTION('grant', 'must be a grant login() gave: { subject, scopes }')
  }
  if (acr !== undefined && !isAcr(acr)) throw new errors.WARDEN_ERR_OPTION('grant.acr', 'must be 1 to 255 visible ASCII characters, without space')
  if (authTime !== undefined && !(Number.isSafeInteger(authTime) && isEpochSeconds(authTime))) {
    throw new errors.WARDEN_ERR_OPTION('grant.authTime', 'must be whole seconds since the epoch')
  }
  const wanted = options.scopes
  if (wanted !== undefined && (!Array.isArray(wanted) || !wanted.every((s) => typeof s === 'string'))) {
    throw new errors.WARDEN_ERR_OPTION('scopes', 'must be an array of scope names')
  }
  if (options.dpop !== undefined && typeof options.dpop !== 'boolean') throw new errors.WARDEN_ERR_OPTION('dpop', 'must be a boolean')
  if (options.clientId !== undefined && (typeof options.clientId !== 'string' || options.clientId === '')) {
    throw new errors.WARDEN_ERR_OPTION('clientId', 'must be a non-empty string')
  }
}

/**
 * A token request's DPoP proof, checked as the bearer scheme checks proofs (its algorithms,
 * lifetime and nonces) and used once the request is granted (its replay cache): a proof at
 * fault, or replayed, is RFC 9449 §5's 400 `invalid_dpop_proof`, or `use_dpop_nonce` with the
 * nonce to sign. No proofs without `dpop`.
 */
function proofsOf (tokens: AccessTokens): ProofOf {
  const dpop = tokens.dpop
  if (dpop === undefined) return () => undefined
  const refused = (err: unknown): never => {
    if (!(err instanceof InvalidDpopProof)) throw err
    const nonce = err.error === 'use_dpop_nonce' ? dpop.nonce() : undefined
    throw new OAuthFailure(err.error, err.description, 400, undefined, nonce === undefined ? undefined : { 'dpop-nonce': nonce })
  }
  return (request) => {
    try {
      const proof = dpop.check(request)
      if (proof === undefined) return undefined
      return {
        jkt: proof.jkt,
        // What the cache cannot tell (it is down, full) is thrown as is: a 503.
        use: async () => {
          try {
            await proof.use()
          } catch (err) {
            refused(err)
          }
        }
      }
    } catch (err) {
      return refused(err)
    }
  }
}

/** The token endpoint as a plugin: password, refresh-token and client-credentials grants, revocation and metadata. */
export const oauth2Server = fp(serverPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/oauth2-server',
  dependencies: ['fastify-warden', 'fastify-warden/oauth2-bearer']
})
export default oauth2Server
