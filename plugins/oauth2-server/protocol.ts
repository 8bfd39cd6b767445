import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { securityEvent } from '../core/events.js'
import { problem, sendProblem } from '../core/problem.js'
import { OAuthFailure, isThrottled } from '../errors.js'

export const FORM = 'application/x-www-form-urlencoded'
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

// Bounds before any lookup or hashing; parameters we do not know are ignored (RFC 6749 §3.1) but bounded too.
const LIMITS: Readonly<Record<string, number>> = {
  grant_type: 64,
  username: 256,
  password: 1024,
  refresh_token: 256,
  scope: 1024,
  client_id: 256,
  client_secret: 256,
  token: 8192,
  token_type_hint: 64
}
const MAX_PARAMETER = 8192
/** A token request is a few hundred bytes; this leaves room for long tokens at the revocation endpoint. */
export const FORM_BODY_LIMIT = 16_384

/**
 * Parse `application/x-www-form-urlencoded` for the token routes only (the app's own parsers are
 * left alone): a repeated parameter becomes a list, which `parameters()` refuses.
 */
export function addFormParser (fastify: FastifyInstance): void {
  // Any other body (multipart, XML, none named) is read within the same bound and left unparsed,
  // so the answer is RFC 6749's invalid_request, not Fastify's 415 problem.
  if (!fastify.hasContentTypeParser('*')) {
    fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: FORM_BODY_LIMIT }, (_request, _body, done) => { done(null, undefined) })
  }
  if (fastify.hasContentTypeParser(FORM)) return
  fastify.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
    const out: Record<string, string | string[]> = Object.create(null)
    for (const [name, value] of new URLSearchParams(body as string)) {
      const previous = out[name]
      out[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value]
    }
    done(null, out)
  })
}

/**
 * The form's parameters as single strings. RFC 6749 §3.2: parameters must not repeat, and our
 * bounds (length, no NUL) come before any lookup. Empty parameters count as absent (§3.1).
 */
export function parameters (request: FastifyRequest): Record<string, string> {
  if ((request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() !== FORM) {
    throw new OAuthFailure('invalid_request', `The request must be ${FORM}.`)
  }
  const body = (request.body ?? {}) as Record<string, unknown>
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw new OAuthFailure('invalid_request', `Parameter ${name} is repeated.`)
    if (typeof value !== 'string' || value.length > (Object.hasOwn(LIMITS, name) ? LIMITS[name] : MAX_PARAMETER) || value.includes('\u0000')) {
      throw new OAuthFailure('invalid_request', `Parameter ${name} is malformed.`)
    }
    if (value !== '') out[name] = value
  }
  return out
}

export function required (params: Record<string, string>, name: string): string {
  const value = params[name]
  if (value === undefined) throw new OAuthFailure('invalid_request', `Parameter ${name} is required.`)
  return value
}

/** Requested scopes (RFC 6749 §3.3), each of which must be one the scheme grants. */
export function requestedScopes (params: Record<string, string>, known: ReadonlySet<string>): string[] | undefined {
  if (params.scope === undefined) return undefined
  const scopes = [...new Set(params.scope.split(' ').filter(Boolean))]
  const unknown = scopes.filter((s) => !known.has(s))
  if (unknown.length > 0) throw new OAuthFailure('invalid_scope', `Unknown scope: ${unknown.join(' ')}.`)
  return scopes
}

/**
 * RFC 6749 §5.2 answer for an OAuthFailure. Anything else is a dependency that failed (the app's
 * verifier, a store): 503 with Retry-After, and nothing was issued.
 */
export async function oauthError (request: FastifyRequest, reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  if (isThrottled(err)) {
    // A locked account or an address out of failed logins: no password was checked.
    reply.header('retry-after', err.retryAfter)
    return await sendProblem(reply, 429, problem(429, `Too many failed logins; retry in ${err.retryAfter} seconds.`))
  }
  if ((err as { code?: unknown } | null)?.code === 'WARDEN_ERR_BUSY') {
    // A login storm: shed before any hashing, the account's lockout untouched.
    securityEvent(request, 'auth.login.shed', { reason: 'password hashing at capacity' })
    reply.header('retry-after', 1)
    return await sendProblem(reply, 503, problem(503, 'Too many logins are being checked right now; try again in a second.'))
  }
  if (!(err instanceof OAuthFailure)) {
    securityEvent(request, 'auth.unavailable', { scheme: 'oauth2Server', err }, 'the token endpoint could not complete the request')
    reply.header('retry-after', 5)
    return await sendProblem(reply, 503, problem(503, 'The service cannot issue tokens right now; try again shortly.'))
  }
  if (err.challenge !== undefined) reply.header('www-authenticate', err.challenge)
  if (err.headers !== undefined) reply.headers(err.headers)
  return await reply.code(err.status).send({ error: err.error, error_description: err.description })
}
