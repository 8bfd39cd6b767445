import t from 'tap'
import Fastify from 'fastify'
import { securityHeaders, openapi } from '../../plugins/index.js'
import { schemesApp } from '../helpers/schemes.js'

t.test('security headers on every answer: 200, 401, 404, 500', async (t) => {
  const { app, readKey } = await schemesApp()
  await app.register(securityHeaders)
  app.get('/ok', { schema: { security: [] } }, async () => ({ ok: true }))
  app.get('/boom', { schema: { security: [] } }, async () => {
    throw new Error('x')
  })
  app.get('/mine', { schema: { security: [{ apiKey: [] }] } }, async () => ({ mine: true }))
  for (const [url, status, headers] of [
    ['/ok', 200, {}],
    ['/mine', 401, {}],
    ['/nowhere', 404, {}],
    ['/boom', 500, {}],
    ['/mine', 200, { 'x-api-key': readKey }]
  ] as const) {
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
  await t.rejects(
    (async () => {
      const a = Fastify()
      await a.register(securityHeaders, { hstsMaxAge: 60 })
      await a.ready()
    })(),
    { code: 'WARDEN_ERR_OPTION', message: /hstsMaxAge/ }
  )
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
