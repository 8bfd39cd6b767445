import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { createHash } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { decodeBasic, problem, safeEqual, securityEvent, sendProblem, type Limit } from '../plugins/index.js'
import { OAuthError, RevokeRequest, TokenRequest, TokenResponse } from '../schemas/auth.js'
import { SCOPES, grantable } from '../schemas/scopes.js'
import type { Login } from './login.js'
import type { Sessions } from './sessions.js'

export interface AuthRoutesOptions {
  login: Login
  sessions: Sessions
  /** Confidential clients, id → SHA-256 of the secret. Public clients need no entry. */
  clients: ReadonlyMap<string, Buffer>
  realm: string
  /** This server's issuer identifier, for its RFC 8414 metadata. */
  issuer: string
  /** The token endpoint's own limit per client address; it fails closed when the counters are down. */
  loginRateLimit: Limit
}

type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope'

const FORM = 'application/x-www-form-urlencoded'
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }
// Bounds before any lookup or hashing; parameters we do not know are ignored (RFC 6749 §3.1) but bounded too.
const LIMITS: Record<string, number> = { grant_type: 64, username: 256, password: 1024, refresh_token: 256, scope: 1024, client_id: 256, client_secret: 256, token: 8192, token_type_hint: 64 }
const MAX_PARAMETER = 8192

class OAuthFailure extends Error {
  constructor (readonly error: OAuthErrorCode, readonly description: string, readonly status: 400 | 401 = 400, readonly challenge?: string) {
    super(description)
  }
}

/**
 * The form's parameters as single strings. RFC 6749 §3.2: parameters must not repeat, and our
 * bounds (length, no NUL) come before any lookup.
 */
function parameters (request: FastifyRequest): Record<string, string> {
  if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith(FORM)) {
    throw new OAuthFailure('invalid_request', `The request must be ${FORM}.`)
  }
  const body = (request.body ?? {}) as Record<string, unknown>
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw new OAuthFailure('invalid_request', `Parameter ${name} is repeated.`)
    if (typeof value !== 'string' || value.length > (LIMITS[name] ?? MAX_PARAMETER) || value.includes('\u0000')) {
      throw new OAuthFailure('invalid_request', `Parameter ${name} is malformed.`)
    }
    if (value !== '') out[name] = value
  }
  return out
}

function required (params: Record<string, string>, name: string): string {
  const value = params[name]
  if (value === undefined) throw new OAuthFailure('invalid_request', `Parameter ${name} is required.`)
  return value
}

/** Requested scopes, each of which must exist (RFC 6749 §3.3). */
function requestedScopes (params: Record<string, string>): string[] | undefined {
  if (params.scope === undefined) return undefined
  const scopes = [...new Set(params.scope.split(' ').filter(Boolean))]
  const unknown = scopes.filter((s) => !Object.hasOwn(SCOPES, s))
  if (unknown.length > 0) throw new OAuthFailure('invalid_scope', `Unknown scope: ${unknown.join(' ')}.`)
  return scopes
}

/** RFC 6749 §5.2 answer for an OAuthFailure; anything else goes on to the error handler. */
async function oauthError (reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  if (!(err instanceof OAuthFailure)) throw err
  if (err.challenge !== undefined) reply.header('www-authenticate', err.challenge)
  return await reply.code(err.status).send({ error: err.error, error_description: err.description })
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest()

function clientCredentials (encoded: string): { id?: string, secret?: string } | undefined {
  const basic = decodeBasic(encoded)
  if (basic === undefined) return undefined
  try {
    const id = decodeURIComponent(basic.username.replace(/\+/g, ' '))
    const secret = decodeURIComponent(basic.password.replace(/\+/g, ' '))
    return { ...(id === '' ? {} : { id }), ...(secret === '' ? {} : { secret }) }
  } catch {
    return undefined
  }
}

const authRoutes: FastifyPluginAsync<AuthRoutesOptions> = async (app, { login, sessions, clients, realm, issuer, loginRateLimit }) => {
  app.addSchema(TokenResponse)
  app.addSchema(OAuthError)
  /** RFC 6749 §2.3: client credentials in HTTP Basic or in the body, never both; optional for public clients. */
  function authenticateClient (request: FastifyRequest, params: Record<string, string>): void {
    const header = request.headers.authorization
    const basic = header !== undefined && /^basic /i.test(header)
    if (basic && (params.client_secret !== undefined || params.client_id !== undefined)) {
      throw new OAuthFailure('invalid_request', 'Client credentials must be sent in one way only.')
    }
    let id: string | undefined = params.client_id
    let secret: string | undefined = params.client_secret
    if (basic) {
      // RFC 6749 §2.3.1: form-encoded id and secret, Basic-encoded; either may be empty (Swagger
      // UI sends ":" for a public client), and an empty one counts as absent.
      const credentials = clientCredentials(header.slice(6))
      if (credentials === undefined) throw new OAuthFailure('invalid_client', 'Client authentication failed.', 401, `Basic realm="${realm}", charset="UTF-8"`)
      id = credentials.id
      secret = credentials.secret
    }
    if (id === undefined) {
      if (secret !== undefined) throw new OAuthFailure('invalid_request', 'client_secret needs a client_id.')
      return
    }
    const expected = clients.get(id)
    if (expected === undefined && secret === undefined) return // a public client
    if (expected === undefined || secret === undefined || !safeEqual(expected, sha256(secret))) {
      throw new OAuthFailure('invalid_client', 'Client authentication failed.', 401, basic ? `Basic realm="${realm}", charset="UTF-8"` : undefined)
    }
  }

  const invalidGrant = (what: string): OAuthFailure => new OAuthFailure('invalid_grant', what)

  async function token (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    reply.headers(NO_STORE)
    try {
      const params = parameters(request)
      const grant = required(params, 'grant_type')
      if (grant !== 'password' && grant !== 'refresh_token') throw new OAuthFailure('unsupported_grant_type', `Grant type ${grant} is not supported.`)
      authenticateClient(request, params)
      const wanted = requestedScopes(params)

      if (grant === 'password') {
        const username = required(params, 'username')
        const password = required(params, 'password')
        const result = await login(username, password, request)
        if (result !== null && 'lockedFor' in result) {
          reply.header('retry-after', result.lockedFor)
          return await sendProblem(reply, 429, problem(429, `Too many failed logins for this account; retry in ${result.lockedFor} seconds.`))
        }
        // One answer for an unknown user, a wrong password and an inactive account.
        if (result === null) throw invalidGrant('Invalid username or password.')
        const { user } = result
        const scopes = grantable(user.role, wanted ?? Object.keys(SCOPES))
        securityEvent(request, 'auth.login.succeeded', { subject: user.id, scope: scopes.join(' ') })
        return await reply.send(await sessions.start(user, scopes))
      }

      const refreshToken = required(params, 'refresh_token')
      const pair = await sessions.refresh(refreshToken, (user, familyScopes) => {
        // May narrow, never widen; and never beyond what the user's role allows today.
        if (wanted !== undefined && wanted.some((s) => !familyScopes.includes(s))) return undefined
        return grantable(user.role, wanted ?? familyScopes)
      }, request)
      if (pair === undefined) throw invalidGrant('The refresh token is invalid, expired or revoked, or the scope is wider than granted.')
      return await reply.send(pair)
    } catch (err) {
      return await oauthError(reply, err)
    }
  }

  app.post('/auth/token', {
    schema: {
      security: [],
      tags: ['auth'],
      summary: 'Get tokens: OAuth2 password grant, or a refresh-token rotation',
      description: 'RFC 6749 §4.3 and §6. Answers carry `Cache-Control: no-store`. Refresh tokens are rotated on every use; presenting a rotated one again revokes the whole session.',
      consumes: [FORM],
      body: TokenRequest,
      response: {
        200: { description: 'Tokens (RFC 6749 §5.1)', ...Type.Ref('TokenResponse') },
        400: { description: 'invalid_request, invalid_grant, invalid_scope or unsupported_grant_type (RFC 6749 §5.2)', ...Type.Ref('OAuthError') },
        401: { description: 'invalid_client', ...Type.Ref('OAuthError') }
      }
    },
    // RFC 6749 errors, not the generic validation problem: the handler checks everything itself.
    attachValidation: true,
    config: { wardenRateLimit: { ...loginRateLimit, failOpen: false } }
  }, token)

  // RFC 8414 authorization-server metadata, where the protected-resource metadata points clients.
  const base = new URL(issuer)
  const metadata = JSON.stringify({
    issuer,
    token_endpoint: new URL('/auth/token', base.origin).href,
    revocation_endpoint: new URL('/auth/revoke', base.origin).href,
    grant_types_supported: ['password', 'refresh_token'],
    response_types_supported: [],
    scopes_supported: Object.keys(SCOPES),
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    ...(app.accessTokens.jwks().keys.length === 0 ? {} : { jwks_uri: new URL('/.well-known/jwks.json', base.origin).href })
  })
  app.get('/.well-known/oauth-authorization-server' + (base.pathname === '/' ? '' : base.pathname), {
    schema: {
      security: [],
      tags: ['auth'],
      summary: 'Authorization-server metadata (RFC 8414)',
      response: { 200: { description: 'Authorization-server metadata', type: 'object', required: ['issuer', 'token_endpoint'], properties: { issuer: { type: 'string', format: 'uri', maxLength: 2048 }, token_endpoint: { type: 'string', format: 'uri', maxLength: 2048 } }, additionalProperties: true } }
    }
  }, async (_request, reply) => await reply.type('application/json').header('cache-control', 'public, max-age=3600').send(metadata))

  app.post('/auth/revoke', {
    schema: {
      security: [],
      tags: ['auth'],
      summary: 'Revoke an access or refresh token (RFC 7009)',
      description: 'Answers 200 for every well-formed request, known token or not. Revoking a refresh token ends its session, including the access tokens issued from it.',
      consumes: [FORM],
      body: RevokeRequest,
      response: {
        200: { type: 'null', description: 'Revoked, or nothing to revoke' },
        400: { description: 'invalid_request', ...Type.Ref('OAuthError') },
        401: { description: 'invalid_client', ...Type.Ref('OAuthError') }
      }
    },
    attachValidation: true
  }, async (request, reply) => {
    reply.headers(NO_STORE)
    try {
      const params = parameters(request)
      authenticateClient(request, params)
      await sessions.revoke(required(params, 'token'), params.token_type_hint, request)
      return await reply.code(200).send()
    } catch (err) {
      return await oauthError(reply, err)
    }
  })
}

export default authRoutes
