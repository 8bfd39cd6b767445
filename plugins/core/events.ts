import type { FastifyRequest } from 'fastify'
import { INVALID_CREDENTIALS } from './types.js'
import { countLogin, type LoginOutcome } from './telemetry.js'

/**
 * The security events fastify-warden itself logs, each with the request id, the client address
 * and a reason: a closed list, naming only what the library does.
 */
export type SecurityEvent =
  | 'auth.login.succeeded'
  | 'auth.login.failed'
  | 'auth.login.locked'
  | 'auth.login.shed'
  | 'auth.token.refreshed'
  | 'auth.refresh.reuse_detected'
  | 'auth.token.revoked'
  | 'auth.scope.denied'
  | 'auth.step_up.required'
  | 'auth.failed'
  | 'auth.unavailable'
  | 'auth.callback.invalid'
  | 'ratelimit.exceeded'
  | 'request.host.refused'

/**
 * An event of the app's own (`user.created`, `apikey.revoked`): any lower-case dotted name the app
 * chooses. The library knows none of them and logs them at `info`, like its own, with the request
 * id, the address and the subject.
 */
export type AppSecurityEvent = `${Lowercase<string>}.${Lowercase<string>}`

/** Events that mean someone may be attacking: logged at `warn`; faults of the service at `error`; the others at `info`. */
const WARN: ReadonlySet<string> = new Set<SecurityEvent>([
  'auth.refresh.reuse_detected', 'auth.login.locked', 'auth.login.shed', 'ratelimit.exceeded', 'request.host.refused'
])
const ERROR: ReadonlySet<string> = new Set<SecurityEvent>(['auth.unavailable', 'auth.callback.invalid'])

// The events that end a login, as the metrics count them.
const LOGIN_OUTCOMES: ReadonlyMap<string, LoginOutcome> = new Map<SecurityEvent, LoginOutcome>([
  ['auth.login.succeeded', 'succeeded'],
  ['auth.login.failed', 'failed'],
  ['auth.login.locked', 'locked'],
  ['auth.login.shed', 'shed']
])

/**
 * Log a security event through the request's pino logger (so it carries the request id): one of
 * the library's, or one of the app's own. Never pass a secret in `fields`: the logger's redaction
 * is the second line, not the first.
 *
 * @example
 * securityEvent(request, 'user.created', { user: user.id })
 */
export function securityEvent (
  request: FastifyRequest,
  event: SecurityEvent | AppSecurityEvent,
  fields: Record<string, unknown> = {},
  message: string = event
): void {
  const login = LOGIN_OUTCOMES.get(event)
  if (login !== undefined) countLogin(login, fields.locked_for !== undefined)
  const entry = { event, ip: request.ip, subject: request.auth?.subject, ...fields }
  if (ERROR.has(event)) request.log.error(entry, message)
  else if (WARN.has(event)) request.log.warn(entry, message)
  else request.log.info(entry, message)
}

/**
 * A scheme refuses the credential a request presented: one `auth.failed` event with the reason
 * class and what names the credential (a key prefix, a token's jti and sub), never the secret.
 */
export function credentialRefused (request: FastifyRequest, scheme: string, reason: string, names?: Record<string, unknown>): typeof INVALID_CREDENTIALS {
  securityEvent(request, 'auth.failed', { scheme, reason, ...names })
  return INVALID_CREDENTIALS
}
