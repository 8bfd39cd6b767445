import type { FastifyRequest } from 'fastify'
import { INVALID_CREDENTIALS } from './types.js'
import { countLogin, type LoginOutcome } from './telemetry.js'

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

// The events that end a login, as the metrics count them.
const LOGIN_OUTCOMES: Partial<Record<SecurityEvent, LoginOutcome>> = {
  'auth.login.succeeded': 'succeeded',
  'auth.login.failed': 'failed',
  'auth.login.locked': 'locked',
  'auth.login.shed': 'shed'
}

/**
 * Log a security event through the request's pino logger (so it carries the request id).
 * Never pass a secret in `fields`: the logger's redaction is the second line, not the first.
 */
export function securityEvent (request: FastifyRequest, event: SecurityEvent, fields: Record<string, unknown> = {}, message: string = event): void {
  const login = LOGIN_OUTCOMES[event]
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
