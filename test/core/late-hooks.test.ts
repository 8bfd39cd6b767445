import t from 'tap'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { openapi, warden } from '../../plugins/index.js'
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

t.test("regression: a later hook that replaces a route's onRequest hooks (the guard with them) stops ready()", async (t) => {
  const { app } = await schemesApp()
  await app.register(fp(async (fastify) => {
    fastify.addHook('onRoute', (route) => {
      if (route.url === '/secret') route.onRequest = async () => {}
    })
  }))
  app.get('/secret', { schema: { security: [{ oauth2: ['admin'] }] } }, async () => ({ secret: 1 }))
  await t.rejects(async () => { await app.ready() }, { code: 'WARDEN_ERR_UNGUARDED_ROUTE', message: /GET \/secret.*lost fastify-warden's guard/ })
})

t.test('a later hook that adds to the onRequest hooks keeps the guard', async (t) => {
  const { app, token } = await schemesApp()
  const seen: string[] = []
  await app.register(fp(async (fastify) => {
    fastify.addHook('onRoute', (route) => {
      const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
      route.onRequest = [...own, async (request) => { seen.push(request.url) }]
    })
  }))
  app.get('/secret', { schema: { security: [{ oauth2: ['admin'] }] } }, async () => ({ secret: 1 }))
  await app.ready()
  t.equal((await app.inject({ url: '/secret' })).statusCode, 401)
  t.equal((await app.inject({ url: '/secret', headers: { authorization: `Bearer ${token(['admin'])}` } })).statusCode, 200)
  t.same(seen, ['/secret'], 'the hook ran after the guard, for the admitted request only')
})

t.test('regression: a HEAD route declared before fastify-warden is refused like a GET (only the HEAD twin of a GET is left to the GET)', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.head('/export', { schema: { security: [{ oauth2: ['admin'] }] } }, async (_request, reply) => await reply.header('x-secret', 'leaked').send())
  await app.register(warden, { scopes: { admin: 'Administer' } })
  await t.rejects(async () => { await app.ready() }, { code: 'WARDEN_ERR_UNGUARDED_ROUTE', message: /HEAD \/export/ })
})
