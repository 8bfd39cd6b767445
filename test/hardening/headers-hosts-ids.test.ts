import t from 'tap'
import Fastify from 'fastify'
import { Writable } from 'node:stream'
import { securityHeaders, trustedHosts, requestId, requestIdOptions, openapi, type TrustedHostsOptions } from '../../plugins/index.js'
import { schemesApp } from '../helpers/app.js'

t.test('security headers on every answer: 200, 401, 404, 500', async (t) => {
  const { app, readKey } = await schemesApp()
  await app.register(securityHeaders)
  app.get('/ok', { schema: { security: [] } }, async () => ({ ok: true }))
  app.get('/boom', { schema: { security: [] } }, async () => { throw new Error('x') })
  app.get('/mine', { schema: { security: [{ apiKey: [] }] } }, async () => ({ mine: true }))
  for (const [url, status, headers] of [['/ok', 200, {}], ['/mine', 401, {}], ['/nowhere', 404, {}], ['/boom', 500, {}], ['/mine', 200, { 'x-api-key': readKey }]] as const) {
    const res = await app.inject({ url, headers })
    t.equal(res.statusCode, status)
    t.equal(res.headers['x-content-type-options'], 'nosniff', url)
    t.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', url)
    t.equal(res.headers['referrer-policy'], 'no-referrer', url)
    t.equal(res.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'", url)
    t.equal(res.headers['x-frame-options'], 'DENY', url)
    t.equal(res.headers['x-powered-by'], undefined, url)
  }
  t.equal((await app.inject({ url: '/mine', headers: { 'x-api-key': readKey } })).headers['cache-control'], 'no-store', 'authenticated answers are not cached')
  t.equal((await app.inject({ url: '/ok' })).headers['cache-control'], undefined, 'public ones are left alone')
  await t.rejects((async () => { const a = Fastify(); await a.register(securityHeaders, { hstsMaxAge: 60 }); await a.ready() })(), { code: 'WARDEN_ERR_OPTION', message: /hstsMaxAge/ })
})

t.test('Swagger UI keeps a policy that lets it run', async (t) => {
  const { app } = await schemesApp()
  await app.register(securityHeaders)
  await app.register(openapi)
  const page = await app.inject({ url: '/docs/' })
  t.equal(page.statusCode, 200)
  const csp = page.headers['content-security-policy'] as string
  t.match(csp, /script-src 'self'/)
  t.match(csp, /style-src 'self'/)
  t.notMatch(csp, /default-src 'none'/)
})

async function hostsApp (opts: TrustedHostsOptions) {
  const app = Fastify()
  await app.register(trustedHosts, opts)
  app.get('/x', async () => 'x')
  return app
}

t.test('trusted hosts: exact names, ports, subdomain wildcards; anything else is a 400', async (t) => {
  const app = await hostsApp({ hosts: ['api.example.com', '*.example.org', 'localhost:8000'] })
  const call = async (host: string) => (await app.inject({ url: '/x', headers: { host } }))
  for (const host of ['api.example.com', 'API.Example.com', 'api.example.com:443', 'eu.example.org', 'a.b.example.org', 'localhost:8000']) {
    t.equal((await call(host)).statusCode, 200, host)
  }
  for (const host of ['evil.test', 'api.example.com.evil.test', 'example.org', 'evilexample.org', 'localhost:8001', 'localhost', '']) {
    const res = await call(host)
    t.equal(res.statusCode, 400, host || '(empty)')
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  await t.rejects((async () => { await (await hostsApp({ hosts: [] })).ready() })(), { code: 'WARDEN_ERR_OPTION' })
  await t.rejects((async () => { await (await hostsApp({ hosts: ['bad host'] })).ready() })(), { code: 'WARDEN_ERR_OPTION', message: /hosts\[0\]/ })
})

t.test('request ids: a well-formed X-Request-ID is kept, others replaced; echoed on every answer and in every log line', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const app = Fastify({ ...requestIdOptions(), logger: { stream, level: 'info' } })
  await app.register(requestId)
  await app.register(trustedHosts, { hosts: ['localhost:80'] })
  app.get('/x', async (request) => { request.log.info('in the handler'); return 'x' })
  const kept = await app.inject({ url: '/x', headers: { 'x-request-id': 'abc-123_def.456' } })
  t.equal(kept.headers['x-request-id'], 'abc-123_def.456')
  t.ok(lines.filter((l) => l.request_id === 'abc-123_def.456').length >= 3, 'incoming, handler and completed lines carry it')
  // Regression: a caller's short id such as abc-123 was replaced; any 1 to 128 safe characters are kept.
  for (const short of ['abc-123', 'a', '42']) t.equal((await app.inject({ url: '/x', headers: { 'x-request-id': short } })).headers['x-request-id'], short)
  for (const bad of ['', 'x'.repeat(129), 'has space in it', 'line\u000abreak-123', '"quoted"-123', 'ünïcode']) {
    const res = await app.inject({ url: '/x', headers: { 'x-request-id': bad } })
    t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, JSON.stringify(bad))
  }
  const refused = await app.inject({ url: '/x', headers: { host: 'evil.test', 'x-request-id': 'refused-request-1' } })
  t.equal(refused.statusCode, 400)
  t.equal(refused.headers['x-request-id'], 'refused-request-1', 'refusals carry it too')
})

t.test('a 429 carries the security headers too', async (t) => {
  const { rateLimit } = await import('../../plugins/index.js')
  const { app } = await schemesApp()
  await app.register(securityHeaders)
  await app.register(rateLimit, { max: 1, timeWindow: 60_000 })
  app.get('/ok', { schema: { security: [] } }, async () => 'ok')
  await app.inject({ url: '/ok' })
  const limited = await app.inject({ url: '/ok' })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['x-content-type-options'], 'nosniff')
  t.equal(limited.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
})
