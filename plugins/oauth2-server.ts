import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from './core/errors.js'
import { assertHeaderSafe } from './core/www-authenticate.js'
import { functionOption, integerOption, pathOption, stringOption } from './core/options.js'
import { problem, sendProblem } from './core/problem.js'
import { securityEvent } from './core/events.js'
import type { Limit } from './rate-limit.js'
import { clientAuthenticator, type CallingClient, type OAuth2Client } from './oauth2-server/clients.js'
import { memoryLoginAttempts, type LoginAttempts } from './oauth2-server/lockout.js'
import { checkUserGrant, createLogin, type LoginResult, type UserGrant, type VerifyUser } from './oauth2-server/login.js'
import { FORM, FORM_BODY_LIMIT, NO_STORE, OAuthFailure, addFormParser, oauthError, parameters, requestedScopes, required } from './oauth2-server/protocol.js'
import { metadataSchema, oauthErrorSchema, revokeRequestSchema, tokenRequestSchema, tokenResponseSchema } from './oauth2-server/schemas.js'
import { createSessions, type SessionStore } from './oauth2-server/refresh-rotation.js'

export interface OAuth2ServerOptions {
  /**
   * Check a user name and password (password grant): who the user is and every scope they may
   * be granted, or `null`. Use a `PasswordHasher`, whose `verify(undefined, password)` checks a
   * dummy hash so an unknown user takes as long as a wrong password. Without it the password
   * grant is off.
   */
  verifyUser?: VerifyUser
  /**
   * At every refresh: the subject's grant today, or `null` when the account is gone or disabled
   * (the session then ends). Default: the session keeps what it was granted at login.
   */
  findSubject?: (subject: string, request: FastifyRequest) => UserGrant | null | Promise<UserGrant | null>
  /** Refresh-token families and revoked ids. Turns on `refresh_token` and the RFC 7009 revocation endpoint. */
  sessions?: SessionStore
  /** Confidential clients, id → `{ secret, scopes? }`; a client with `scopes` may use `client_credentials`. */
  clients?: Record<string, OAuth2Client>
  /** Lifetime of a session, however often it is refreshed, seconds. Default 7 days. */
  refreshTokenTtl?: number
  /** Consecutive failed logins per account lock it (doubling delay). Default: in memory, 5 failures; `false` for none. */
  lockout?: LoginAttempts | false
  /** The token endpoint's own limit per client address (with the `rateLimit` plugin), failing closed. Default 5 a minute; `false` for none. */
  rateLimit?: Limit | false
  /** Default `/auth/token`. */
  tokenPath?: string
  /** Default `/auth/revoke`. */
  revokePath?: string
  /** Publish RFC 8414 metadata at `/.well-known/oauth-authorization-server`. Default `true`. */
  metadata?: boolean
  /** `client_id` of tokens issued to clients that do not name themselves. Default `'public'`. */
  publicClientId?: string
  /** Realm of the `Basic` challenge of a failed client authentication. Default: the core's. */
  realm?: string
  /** Clock in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number
}

/** What the token endpoint shares with the app, decorated as `fastify.oauth2Server`. */
export interface OAuth2Server {
  /** A user name and password through the verifier and the lockout: for HTTP Basic, say. */
  login (username: string, password: string, request: FastifyRequest): Promise<LoginResult>
  /** End every session of a subject (password change, deletion): their tokens are refused from now on. */
  endSessions (subject: string, reason: string): Promise<number>
  /** Lift an account's lockout. */
  unlock (username: string): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    oauth2Server: OAuth2Server
  }
}

const DAY = 86_400

function checkOptions (fastify: FastifyInstance, opts: OAuth2ServerOptions) {
  const verifyUser = functionOption<VerifyUser>('verifyUser', opts.verifyUser)
  const findSubject = functionOption<NonNullable<OAuth2ServerOptions['findSubject']>>('findSubject', opts.findSubject)
  const clients = opts.clients ?? {}
  if (clients === null || typeof clients !== 'object' || Array.isArray(clients)) throw new errors.WARDEN_ERR_OPTION('clients', 'must be an object of client id to { secret, scopes }')
  const sessions = opts.sessions
  if (sessions !== undefined && (typeof sessions?.refreshTokens?.rotate !== 'function' || typeof sessions?.revocations?.revoke !== 'function')) {
    throw new errors.WARDEN_ERR_OPTION('sessions', 'must be a SessionStore: { refreshTokens, revocations }')
  }
  const tokens = fastify.accessTokens
  if (sessions !== undefined && !tokens.revocable) {
    throw new errors.WARDEN_ERR_OPTION('sessions', `needs the '${tokens.scheme}' scheme's isRevoked option reading the same revocations, or ended sessions would keep their access tokens`)
  }
  const lockout = opts.lockout === false ? undefined : opts.lockout ?? memoryLoginAttempts()
  if (lockout !== undefined && typeof lockout.fail !== 'function') throw new errors.WARDEN_ERR_OPTION('lockout', 'must be LoginAttempts ({ lockedFor, fail, reset }) or false')
  const clientCredentials = Object.values(clients).some((c) => c?.scopes !== undefined)
  const grants = [
    ...(verifyUser === undefined ? [] : ['password']),
    ...(sessions === undefined ? [] : ['refresh_token']),
    ...(clientCredentials ? ['client_credentials'] : [])
  ]
  if (verifyUser === undefined && !clientCredentials) throw new errors.WARDEN_ERR_OPTION('verifyUser', "must be given (password grant), or a client with 'scopes' (client_credentials)")
  const realm = opts.realm ?? fastify.warden.realm
  assertHeaderSafe('realm', realm)
  const limit: Limit | false = opts.rateLimit === false ? false : { max: integerOption('rateLimit.max', opts.rateLimit?.max, 5, 1, 1_000_000), timeWindow: integerOption('rateLimit.timeWindow', opts.rateLimit?.timeWindow, 60_000, 1000, 86_400_000) }
  return {
    verifyUser,
    findSubject,
    sessions,
    clients,
    lockout,
    grants,
    realm,
    limit,
    refreshTokenTtl: integerOption('refreshTokenTtl', opts.refreshTokenTtl, 7 * DAY, 60, 366 * DAY),
    tokenPath: pathOption('tokenPath', opts.tokenPath, '/auth/token'),
    revokePath: pathOption('revokePath', opts.revokePath, '/auth/revoke'),
    metadata: opts.metadata ?? true,
    publicClientId: stringOption('publicClientId', opts.publicClientId, 'public'),
    now: functionOption<() => number>('now', opts.now) ?? Date.now
  }
}

/** Document the scheme's flows as they really are: the token URL, a refresh URL only with sessions, client credentials when offered. */
function documentFlows (fastify: FastifyInstance, tokenPath: string, grants: readonly string[]): void {
  const scheme = fastify.warden.schemes.get(fastify.accessTokens.scheme)
  const flows = (scheme?.openapi as { flows?: Record<string, { tokenUrl?: string, refreshUrl?: string, scopes?: Record<string, string> }> } | undefined)?.flows
  if (flows === undefined) return
  const scopes = Object.fromEntries(Object.entries(fastify.warden.scopes).filter(([s]) => fastify.accessTokens.scopes.has(s)))
  const refresh = grants.includes('refresh_token') ? { refreshUrl: tokenPath } : {}
  if (grants.includes('password')) flows.password = { tokenUrl: tokenPath, ...refresh, scopes }
  else delete flows.password
  if (grants.includes('client_credentials')) flows.clientCredentials = { tokenUrl: tokenPath, scopes }
}

/**
 * The authorization-server half for the app's own users: `POST` token (password,
 * refresh_token with rotation and reuse detection, client_credentials), RFC 7009 revocation,
 * RFC 8414 metadata, RFC 6749 §5.2 errors, `no-store`, its own form parser, account lockout and
 * a per-address limit. The app gives it a user verifier and, for sessions, a store.
 */
const oauth2ServerPlugin: FastifyPluginAsync<OAuth2ServerOptions> = async (fastify, opts) => {
  const o = checkOptions(fastify, opts)
  const tokens = fastify.accessTokens
  const authenticateClient = clientAuthenticator(o.clients, tokens.scopes, o.realm, o.publicClientId)
  const sessions = createSessions(tokens, o.sessions, o.refreshTokenTtl, o.now)
  const login = createLogin(o.verifyUser ?? (() => null), o.lockout, tokens.scopes)
  /** What a grant may carry: the requested scopes it allows (all of them when none were asked for), only the scheme's. */
  const grantable = (allowed: readonly string[], wanted: readonly string[] | undefined): string[] =>
    allowed.filter((s, i) => tokens.scopes.has(s) && allowed.indexOf(s) === i && (wanted === undefined || wanted.includes(s)))

  fastify.decorate('oauth2Server', {
    login,
    endSessions: sessions.endAll,
    async unlock (username) { await o.lockout?.reset(username) }
  } satisfies OAuth2Server)
  documentFlows(fastify, o.tokenPath, o.grants)

  async function passwordGrant (request: FastifyRequest, reply: FastifyReply, params: Record<string, string>, client: CallingClient, wanted: string[] | undefined): Promise<FastifyReply> {
    const result = await login(required(params, 'username'), required(params, 'password'), request)
    if (result !== null && 'lockedFor' in result) {
      reply.header('retry-after', result.lockedFor)
      return await sendProblem(reply, 429, problem(429, `Too many failed logins for this account; retry in ${result.lockedFor} seconds.`))
    }
    // One answer for an unknown user, a wrong password and a disabled account.
    if (result === null) throw new OAuthFailure('invalid_grant', 'Invalid username or password.')
    const { grant } = result
    const scopes = grantable(grant.scopes, wanted)
    securityEvent(request, 'auth.login.succeeded', { subject: grant.subject, scope: scopes.join(' '), client_id: client.id })
    return await reply.send(await sessions.start({ subject: grant.subject, scopes, clientId: client.id, ...(grant.claims === undefined ? {} : { claims: grant.claims }) }, true))
  }

  async function refreshGrant (request: FastifyRequest, reply: FastifyReply, params: Record<string, string>, client: CallingClient, wanted: string[] | undefined): Promise<FastifyReply> {
    const refreshToken = required(params, 'refresh_token')
    const invalid = new OAuthFailure('invalid_grant', 'The refresh token is invalid, expired or revoked.')
    // RFC 6749 §6: the scope may narrow, never widen; a wider one is refused before the token is
    // rotated, so the client's refresh token stays usable.
    const family = await sessions.find(refreshToken)
    // RFC 6749 §6: a refresh token is bound to the client it was issued to.
    if (family !== null && family.clientId !== client.id) throw invalid
    if (family !== null && wanted !== undefined && wanted.some((s) => !family.scope.split(' ').includes(s))) {
      throw new OAuthFailure('invalid_scope', 'The scope is wider than the one granted.')
    }
    const answer = await sessions.refresh(refreshToken, async (rotated) => {
      const granted = rotated.scope.split(' ').filter(Boolean)
      if (o.findSubject === undefined) return grantable(granted, wanted)
      const today = checkUserGrant(request, 'findSubject', await o.findSubject(rotated.subject, request), tokens.scopes)
      return today === null ? undefined : grantable(granted.filter((s) => today.scopes.includes(s)), wanted)
    }, request)
    if (answer === undefined) throw invalid
    return await reply.send(answer)
  }

  async function clientCredentialsGrant (request: FastifyRequest, reply: FastifyReply, client: CallingClient, wanted: string[] | undefined): Promise<FastifyReply> {
    if (!client.confidential) throw new OAuthFailure('invalid_client', 'Client authentication failed.', 401)
    if (client.scopes === undefined) throw new OAuthFailure('unauthorized_client', 'This client may not use client_credentials.')
    const scopes = grantable(client.scopes, wanted)
    securityEvent(request, 'auth.login.succeeded', { subject: client.id, scope: scopes.join(' '), client_id: client.id, grant_type: 'client_credentials' })
    return await reply.send(await sessions.start({ subject: client.id, scopes, clientId: client.id }, false))
  }

  async function token (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    reply.headers(NO_STORE)
    try {
      const params = parameters(request)
      const grant = required(params, 'grant_type')
      if (!o.grants.includes(grant)) throw new OAuthFailure('unsupported_grant_type', `Grant type ${grant} is not supported.`)
      const client = authenticateClient(request, params)
      const wanted = requestedScopes(params, tokens.scopes)
      if (grant === 'password') return await passwordGrant(request, reply, params, client, wanted)
      if (grant === 'refresh_token') return await refreshGrant(request, reply, params, client, wanted)
      return await clientCredentialsGrant(request, reply, client, wanted)
    } catch (err) {
      return await oauthError(request, reply, err)
    }
  }

  const refresh = o.sessions !== undefined
  const limit = o.limit
  const routeConfig = limit === false ? {} : { config: { rateLimit: { max: limit.max, timeWindow: limit.timeWindow, skipOnError: false } } }
  await fastify.register(async function tokenEndpoint (app) {
    addFormParser(app)
    app.addSchema(tokenResponseSchema(refresh))
    app.addSchema(oauthErrorSchema)
    app.post(o.tokenPath, {
      schema: {
        security: [],
        tags: ['auth'],
        summary: `Get tokens: ${o.grants.join(', ')}`,
        description: 'RFC 6749 §4.3, §4.4 and §6. Answers carry `Cache-Control: no-store`. ' +
          (refresh ? 'Refresh tokens are rotated on every use; presenting a rotated one again revokes the whole session.' : ''),
        consumes: [FORM],
        body: tokenRequestSchema(o.grants),
        response: {
          200: { description: 'Tokens (RFC 6749 §5.1)', $ref: 'TokenResponse#' },
          400: { description: 'invalid_request, invalid_grant, invalid_scope, unauthorized_client or unsupported_grant_type (RFC 6749 §5.2)', $ref: 'OAuthError#' },
          401: { description: 'invalid_client', $ref: 'OAuthError#' }
        }
      },
      bodyLimit: FORM_BODY_LIMIT,
      // RFC 6749 errors, not the generic validation problem: the handler checks everything itself.
      attachValidation: true,
      ...routeConfig
    }, token)

    if (refresh) {
      app.post(o.revokePath, {
        schema: {
          security: [],
          tags: ['auth'],
          summary: 'Revoke an access or refresh token (RFC 7009)',
          description: 'Answers 200 for every well-formed request, known token or not. Revoking a refresh token ends its session, including the access tokens issued from it.',
          consumes: [FORM],
          body: revokeRequestSchema,
          response: {
            200: { type: 'null', description: 'Revoked, or nothing to revoke' },
            400: { description: 'invalid_request', $ref: 'OAuthError#' },
            401: { description: 'invalid_client', $ref: 'OAuthError#' }
          }
        },
        bodyLimit: FORM_BODY_LIMIT,
        attachValidation: true
      }, async (request, reply) => {
        reply.headers(NO_STORE)
        try {
          const params = parameters(request)
          authenticateClient(request, params)
          await sessions.revoke(required(params, 'token'), params.token_type_hint, request)
          return await reply.code(200).send()
        } catch (err) {
          return await oauthError(request, reply, err)
        }
      })
    }

    if (o.metadata) {
      // RFC 8414 §3: the well-known path is inserted before the issuer's own path.
      const issuer = new URL(tokens.issuer)
      const at = (path: string): string => new URL(path, issuer.origin).href
      const body = JSON.stringify({
        issuer: tokens.issuer,
        token_endpoint: at(o.tokenPath),
        ...(refresh ? { revocation_endpoint: at(o.revokePath), revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'] } : {}),
        grant_types_supported: o.grants,
        response_types_supported: [],
        scopes_supported: [...tokens.scopes],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
        ...(tokens.jwks().keys.length === 0 ? {} : { jwks_uri: at('/.well-known/jwks.json') })
      })
      app.get('/.well-known/oauth-authorization-server' + (issuer.pathname === '/' ? '' : issuer.pathname), {
        schema: { security: [], tags: ['auth'], summary: 'Authorization-server metadata (RFC 8414)', response: { 200: metadataSchema } }
      }, async (_request, reply) => await reply.type('application/json').header('cache-control', 'public, max-age=3600').send(body))
    }
  })
}

/** The token endpoint as a plugin: password, refresh-token and client-credentials grants, revocation and metadata. */
export const oauth2Server = fp(oauth2ServerPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/oauth2-server',
  dependencies: ['fastify-warden', 'fastify-warden/oauth2-bearer']
})
export default oauth2Server
