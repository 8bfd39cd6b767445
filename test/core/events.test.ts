import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { securityEvent, type SecurityEvent } from '../../plugins/index.js'
import type { AppSecurityEvent } from '../../plugins/core/events.js'

/** A request whose logger keeps what it is given, by level. */
function recording (): { request: FastifyRequest, lines: Array<{ level: string, entry: Record<string, unknown>, message: string }> } {
  const lines: Array<{ level: string, entry: Record<string, unknown>, message: string }> = []
  const at = (level: string) => (entry: Record<string, unknown>, message: string) => { lines.push({ level, entry, message }) }
  const request = { ip: '192.0.2.1', auth: { subject: 'user-1' }, log: { info: at('info'), warn: at('warn'), error: at('error') } } as unknown as FastifyRequest
  return { request, lines }
}

t.test('security events: attacks at warn, the service\'s own faults at error, the rest at info, each with the address and subject', async (t) => {
  const levels: Record<SecurityEvent, string> = {
    'auth.login.succeeded': 'info',
    'auth.login.failed': 'info',
    'auth.login.locked': 'warn',
    'auth.login.shed': 'warn',
    'auth.token.refreshed': 'info',
    'auth.refresh.reuse_detected': 'warn',
    'auth.token.revoked': 'info',
    'auth.scope.denied': 'info',
    'auth.step_up.required': 'info',
    'auth.failed': 'info',
    'auth.unavailable': 'error',
    'auth.callback.invalid': 'error',
    'ratelimit.exceeded': 'warn',
    'request.host.refused': 'warn'
  }
  for (const [event, level] of Object.entries(levels) as Array<[SecurityEvent, string]>) {
    const { request, lines } = recording()
    securityEvent(request, event, { reason: 'test' })
    t.same(lines, [{ level, entry: { event, ip: '192.0.2.1', subject: 'user-1', reason: 'test' }, message: event }], event)
  }
  const { request, lines } = recording()
  securityEvent(request, 'auth.login.failed', {}, 'a message of its own')
  t.equal(lines[0].message, 'a message of its own')
})

t.test('the app\'s own events: any dotted name it chooses, unknown to the library, logged at info alike', async (t) => {
  // The library's vocabulary names only what the library does.
  // @ts-expect-error the app's user.created is not a library event
  const library: SecurityEvent = 'user.created'
  t.ok(library)
  const events: AppSecurityEvent[] = [
    'user.created', 'user.deleted', 'apikey.created', 'apikey.revoked', 'auth.password.changed'
  ]
  for (const event of events) {
    const { request, lines } = recording()
    securityEvent(request, event, { user: 'u-1' })
    const entry = { event, ip: '192.0.2.1', subject: 'user-1', user: 'u-1' }
    t.same(lines, [{ level: 'info', entry, message: event }], event)
  }
  const { request, lines } = recording()
  securityEvent(request, 'invoice.paid', { invoice: 'i-1' }, 'an invoice was paid')
  const entry = { event: 'invoice.paid', ip: '192.0.2.1', subject: 'user-1', invoice: 'i-1' }
  t.same(lines, [{ level: 'info', entry, message: 'an invoice was paid' }])
  // @ts-expect-error an app event is a dotted name
  securityEvent(request, 'created')
  // @ts-expect-error in lower case
  securityEvent(request, 'User.Created')
})

t.test('a refused credential: one auth.failed event with the scheme, the reason class and what names the credential', async (t) => {
  const { credentialRefused } = await import('../../plugins/core/events.js')
  const { INVALID_CREDENTIALS } = await import('../../plugins/index.js')
  const { request, lines } = recording()
  t.equal(credentialRefused(request, 'apiKey', 'expired', { api_key: 'k1' }), INVALID_CREDENTIALS)
  credentialRefused(request, 'basic', 'malformed')
  t.same(lines.map((l) => l.entry), [
    { event: 'auth.failed', ip: '192.0.2.1', subject: 'user-1', scheme: 'apiKey', reason: 'expired', api_key: 'k1' },
    { event: 'auth.failed', ip: '192.0.2.1', subject: 'user-1', scheme: 'basic', reason: 'malformed' }
  ])
})
