import type { FastifyRequest } from 'fastify'

/** The security events fastify-warden logs, each with the request id, the client address and a reason. */
export type SecurityEvent =
  | 'auth.login.succeeded'
  | 'auth.login.failed'
  | 'auth.login.locked'
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
const WARN: ReadonlySet<SecurityEvent> = new Set(['auth.refresh.reuse_detected', 'auth.login.locked', 'ratelimit.exceeded', 'request.host.refused'])
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
 * Paths pino must censor in every log line: credentials in headers and secrets in bodies.
 * Pass it as `logger: { redact: { paths: REDACT_PATHS, censor: '[redacted]' } }`.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]', '*.password', '*.new_password', '*.current_password', '*.client_secret',
  '*.access_token', '*.refresh_token', '*.token', '*.key', '*.authorization', '*["x-api-key"]'
]
