import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { OAuthFailure, invalidFields, problem, securityEvent, sendProblem, type RouteRateLimit } from '../plugins/index.js'
import { problemResponse } from '../app/schemas/common.js'
import { LoginRequest, TokenPair } from '../app/schemas/login.js'
import { SCOPES } from '../app/schemas/scopes.js'

export interface LoginRouteOptions {
  /** Every request to the route, per client address, as the token endpoint's (failing closed). */
  rateLimit: { max: number, timeWindow: number }
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/** The scopes asked for, each one of this API's; the unknown ones instead, to be answered 400. */
function askedScopes (scope: string | undefined): { scopes?: string[], unknown: string[] } {
  if (scope === undefined) return { unknown: [] }
  const scopes = [...new Set(scope.split(' '))]
  return { scopes, unknown: scopes.filter((s) => !Object.hasOwn(SCOPES, s)) }
}

/**
 * What the token endpoint answers when a login cannot be checked: a locked account or address
 * is the core's 429 (thrown on), a busy hasher or a store that failed a 503 with Retry-After.
 */
async function unavailable (request: FastifyRequest, reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  if ((err as { code?: unknown } | null)?.code === 'WARDEN_ERR_THROTTLED') throw err
  if (err instanceof OAuthFailure) {
    // The request's DPoP proof, refused: `error` says which (use_dpop_nonce comes with a DPoP-Nonce header).
    if (err.headers !== undefined) reply.headers(err.headers)
    return await sendProblem(reply, 400, { ...problem(400, err.description), error: err.error })
  }
  if ((err as { code?: unknown } | null)?.code === 'WARDEN_ERR_BUSY') {
    securityEvent(request, 'auth.login.shed', { reason: 'password hashing at capacity' })
    reply.header('retry-after', 1)
    const detail = 'Too many logins are being checked right now; try again in a second.'
    return await sendProblem(reply, 503, problem(503, detail))
  }
  securityEvent(request, 'auth.unavailable', { scheme: 'login', err }, 'the login could not be checked')
  reply.header('retry-after', 5)
  return await sendProblem(reply, 503, problem(503, 'The service cannot issue tokens right now; try again shortly.'))
}

/**
 * POST /login: the token endpoint's password grant for clients that send JSON. The same login
 * (one lockout and one address budget with the token endpoint and Basic) and the same token pair,
 * both through `fastify.oauth2Server`.
 */
const loginRoute: FastifyPluginAsyncTypebox<LoginRouteOptions> = async (app, options) => {
  app.addSchema(TokenPair)
  const rateLimit: RouteRateLimit = { ...options.rateLimit, skipOnError: false }
  app.post('/login', {
    schema: {
      security: [],
      tags: ['auth'],
      summary: 'Log in with JSON: the token pair of the password grant',
      description: 'The password grant of the token endpoint (the same lockout) for clients that send JSON; ' +
        'refresh at the token endpoint. Answers carry `Cache-Control: no-store`.',
      body: LoginRequest,
      response: {
        200: Type.Ref('TokenPair', { description: 'Tokens (RFC 6749 §5.1)' }),
        400: problemResponse('Invalid input, a scope this API does not have, or a DPoP proof refused (`error`: invalid_dpop_proof, use_dpop_nonce)'),
        401: problemResponse('Invalid username or password'),
        429: problemResponse('Too many failed logins for this account or address: see Retry-After'),
        503: problemResponse('Logins cannot be checked right now: see Retry-After')
      }
    },
    config: { rateLimit }
  }, async (request, reply) => {
    reply.headers(NO_STORE)
    const { username, password, scope } = request.body
    const { scopes, unknown } = askedScopes(scope)
    // Refused before any password is checked: nothing is counted.
    if (unknown.length > 0) {
      const message = `names a scope this API does not have: ${unknown.join(' ')}`
      return await sendProblem(reply, 400, invalidFields([{ in: 'body', field: '/scope', message }]))
    }
    let tokens
    try {
      const grant = await app.oauth2Server.login(username, password, request)
      const asked = scopes === undefined ? {} : { scopes }
      tokens = grant === null ? undefined : await app.oauth2Server.issueTokens(grant, request, asked)
    } catch (err) {
      return await unavailable(request, reply, err)
    }
    // One answer for an unknown user, a wrong password, a disabled account and a password changed meanwhile.
    if (tokens === undefined) return await sendProblem(reply, 401, problem(401, 'Invalid username or password.'))
    return tokens
  })
}

export default loginRoute
