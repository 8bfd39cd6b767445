import type { FastifyRequest } from 'fastify'
import { INVALID_CREDENTIALS } from './types.js'

/** The security events fastify-warden logs, each with the request id, the client address and a reason. */
export type SecurityEvent =
  | 'auth.login.succeeded'
  | 'auth.login.failed'
  | 'auth.login.locked'
  | 'auth.login.shed'
  | 'auth.token.refreshed'
  | 'auth.refresh.reuse_detected'
  | 'auth.token.revoked'
  | 'auth.password.changed'
  | 'auth.scope.denied'
  | 'auth.failed'
  | 'auth.unavailable'
  | 'auth.callback.invalid'
  | 'apikey.created'
  | 'apikey.revoked'
  | 'ratelimit.exceeded'
  | 'user.created'
  | 'user.deleted'
  | 'request.host.refused'

/** Events that mean someone may be attacking: logged at `warn`; faults of the service at `error`; the others at `info`. */
const WARN: ReadonlySet<SecurityEvent> = new Set(['auth.refresh.reuse_detected', 'auth.login.locked', 'auth.login.shed', 'ratelimit.exceeded', 'request.host.refused'])
const ERROR: ReadonlySet<SecurityEvent> = new Set(['auth.unavailable', 'auth.callback.invalid'])

/**
 * Log a security event through the request's pino logger (so it carries the request id).
 * Never pass a secret in `fields`: the logger's redaction is the second line, not the first.
 */
export function securityEvent (request: FastifyRequest, event: SecurityEvent, fields: Record<string, unknown> = {}, message: string = event): void {
  const entry = { event, ip: request.ip, subject: request.auth?.subject, ...fields }
  if (ERROR.has(event)) request.log.error(entry, message)
  else if (WARN.has(event)) request.log.warn(entry, message)
  else request.log.info(entry, message)
}

/**
 * A scheme refuses the credential a request presented: one `auth.failed` event with the reason
 * class and what names the credential (a key prefix, a token's jti and sub), never the secret.
 */
export function credentialRefused (request: FastifyRequest, scheme: string, reason: string, names: Record<string, unknown> = {}): typeof INVALID_CREDENTIALS {
  securityEvent(request, 'auth.failed', { scheme, reason, ...names })
  return INVALID_CREDENTIALS
}

/**
 * Paths pino must censor in every log line: credentials in headers and secrets in bodies.
 * Pass it as `logger: { redact: { paths: REDACT_PATHS, censor: '[redacted]' } }`.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]', '*.password', '*.new_password', '*.current_password', '*.client_secret',
  '*.access_token', '*.refresh_token', '*.token', '*.key', '*.authorization', '*["x-api-key"]'
]

/**
 * Query parameters that carry credentials, by name: compared without case and without
 * separators (`X-API-Key`, `api_key`, `apiKey` are one name), any name that ends in `key`, and
 * any that contains one of the telling words (`accessToken`, `client_secret`, `new-password`).
 */
const CREDENTIAL_NAMES: ReadonlySet<string> = new Set(['key', 'code', 'pwd', 'pass', 'auth', 'sig', 'jwt', 'otp'])
const CREDENTIAL_WORDS: readonly string[] = ['token', 'secret', 'passw', 'apikey', 'authoriz', 'jwt', 'credential', 'session', 'signature', 'assertion', 'cookie']
/** Values that are credentials by their shape, whatever they are called: our API keys and refresh tokens, JWTs, Basic and Bearer. */
const CREDENTIAL_VALUE = /^(?:wdn_|wdr_|eyJ[\w-]*\.[\w-]*\.|(?:bearer|basic|dpop)\s)/i

function decoded (text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return text
  }
}

function isCredentialName (name: string): boolean {
  const plain = decoded(name).toLowerCase().replace(/[^a-z0-9]/g, '')
  return CREDENTIAL_NAMES.has(plain) || plain.endsWith('key') || CREDENTIAL_WORDS.some((word) => plain.includes(word))
}

const isCredentialValue = (value: string): boolean => CREDENTIAL_VALUE.test(decoded(value).trim())

/**
 * A URL fit for a log line: the values of query parameters that carry credentials, by name or by
 * shape, are `[redacted]`, and so are path segments that look like one.
 */
export function redactUrl (url: string): string {
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  // Most paths hold nothing of the kind: one scan for the shapes' first letters' marks.
  const safePath = !/wdn_|wdr_|eyJ|%/i.test(path) ? path : path.split('/').map((segment) => isCredentialValue(segment) ? '[redacted]' : segment).join('/')
  if (q === -1) return safePath
  const pairs = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=')
    const name = eq === -1 ? pair : pair.slice(0, eq)
    return isCredentialName(name) || (eq !== -1 && isCredentialValue(pair.slice(eq + 1))) ? `${name}=[redacted]` : pair
  })
  return safePath + '?' + pairs.join('&')
}

/**
 * pino serializers for Fastify's request log lines, as Fastify's own but with credentials in the
 * query string redacted (`/users/me?access_token=[redacted]`). Use with `REDACT_PATHS`:
 *
 * @example
 * Fastify({ logger: { serializers: logSerializers, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } } })
 */
export const logSerializers = {
  req (request: { method: string, url: string, host?: string, ip?: string, socket?: { remotePort?: number } }): Record<string, unknown> {
    return { method: request.method, url: redactUrl(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort }
  }
}
