import t from 'tap'
import fp from 'fastify-plugin'
import { openapi } from '../../plugins/index.js'
import { schemesApp } from '../helpers/schemes.js'

// An onRoute hook added after the core ("protect everything under /admin") changes a route's
// schema.security after the core read it. Found by a probe: the route was served as first declared
// while the document and fastify.warden.routes showed the new requirement.
const adminHook = fp(async (fastify) => {
  fastify.addHook('onRoute', (route) => {
    if (route.url.startsWith('/admin')) route.schema = { ...route.schema, security: [{ oauth2: ['admin'] }] }
  })
})

t.test('regression: a route the core read as public and a later hook protected stops ready(), never served open', async (t) => {
  const { app } = await schemesApp()
  await app.register(adminHook)
  app.get('/admin/users', { schema: { security: [] } }, async () => ({ users: [] }))
  await t.rejects(async () => { await app.ready() }, { code: 'WARDEN_ERR_REQUIREMENT', message: /GET \/admin\/users.*changed from public after fastify-warden read it/ })
})

t.test('regression: a guarded route a later hook changed is enforced as it now reads, and documented so', async (t) => {
  const { app, token } = await schemesApp()
  await app.register(openapi, { info: { title: 't', version: '1' } })
  await app.register(adminHook)
  app.get('/admin/other', async () => ({ ok: true }))
  app.get('/admin/read', { schema: { security: [{ oauth2: ['users:read'] }] } }, async () => ({ ok: true }))
  await app.ready()
  for (const url of ['/admin/other', '/admin/read']) {
    t.equal((await app.inject({ url })).statusCode, 401, `${url}: no credential`)
    const reader = await app.inject({ url, headers: { authorization: `Bearer ${token(['users:read'])}` } })
    t.equal(reader.statusCode, 403, `${url}: the scope the hook asks for, not the declared one`)
    t.match(reader.headers['www-authenticate'], /insufficient_scope.*scope="admin"/)
    t.equal((await app.inject({ url, headers: { authorization: `Bearer ${token(['admin'])}` } })).statusCode, 200)
    const listed = app.warden.routes.find((r) => r.url === url && r.method === 'GET')
    t.same(listed?.security, [{ oauth2: ['admin'] }], `${url}: fastify.warden.routes says what is enforced`)
  }
  const operation = app.swagger().paths?.['/admin/other']?.get as { security: unknown, responses: Record<string, unknown> }
  t.same(operation.security, [{ oauth2: ['admin'] }])
  t.ok('403' in operation.responses, 'the 403 of the new scope is documented')
})

t.test('a guarded route a later hook made public is public: no challenge, request.auth null', async (t) => {
  const { app } = await schemesApp()
  await app.register(fp(async (fastify) => {
    fastify.addHook('onRoute', (route) => {
      if (route.url === '/status') route.schema = { ...route.schema, security: [] }
    })
  }))
  app.get('/status', async (request) => ({ auth: request.auth }))
  await app.ready()
  const res = await app.inject({ url: '/status' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { auth: null })
})
