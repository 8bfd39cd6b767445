import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import { plugins } from '../helpers/subject.js'
import { SECRET, ISSUER, AUDIENCE } from '../helpers/keys.js'

const { warden, oauth2Bearer, apiKey, openapi, cors, checkSecurityContract } = plugins

// A user's own plugin, as they would write it: routes with their security, nothing else.
const notes: FastifyPluginAsync = async (app) => {
  app.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }] } }, async () => ['a note'])
}
const SCOPES = { 'notes:read': 'Read notes' }
const core = async (app: FastifyInstance): Promise<void> => {
  await app.register(warden, { scopes: SCOPES })
}
const bearer = async (app: FastifyInstance): Promise<void> => {
  await app.register(oauth2Bearer, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE })
}
const start = async (app: FastifyInstance): Promise<void> => {
  await app.ready()
}
const token = (app: FastifyInstance, scope: string[] = ['notes:read']): string => `Bearer ${app.accessTokens.sign({ sub: 'u1', scope }).token}`

t.test('routes before the core: ready() fails naming the route and what to move', async (t) => {
  const orders: Array<[string, (app: FastifyInstance) => Promise<void>]> = [
    [
      'a route on the app, then the core',
      async (app) => {
        app.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }] } }, async () => 'open')
      }
    ],
    [
      'an awaited plugin, then the core',
      async (app) => {
        await app.register(notes)
      }
    ],
    [
      'a plugin in avvio order (no await), then the core',
      async (app) => {
        void app.register(notes)
      }
    ],
    [
      'a prefixed plugin, then the core',
      async (app) => {
        await app.register(notes, { prefix: '/v1' })
      }
    ],
    [
      'app.route() with two methods, then the core',
      async (app) => {
        app.route({ method: ['GET', 'POST'], url: '/notes', schema: { security: [{ oauth2: [] }] }, handler: async () => 'open' })
      }
    ]
  ]
  for (const [order, before] of orders) {
    const app = Fastify()
    await before(app)
    await core(app)
    await bearer(app)
    await t.rejects(
      start(app),
      {
        code: 'WARDEN_ERR_UNGUARDED_ROUTE',
        message:
          /route '(GET|POST) (\/v1)?\/notes' declares schema\.security but was registered before fastify-warden .* register fastify-warden before the plugin that adds the route/
      },
      order
    )
    // The server does not start, so nothing is served.
    await t.rejects(app.listen({ port: 0, host: '127.0.0.1' }), { code: 'WARDEN_ERR_UNGUARDED_ROUTE' }, `${order}: listen() refuses`)
    t.equal(app.server.listening, false, `${order}: not listening`)
    await app.close()
  }
})

t.test('a route under the default security before the core fails too, and may opt out with security: []', async (t) => {
  const app = Fastify()
  app.get('/status', async () => 'open')
  await core(app)
  await bearer(app)
  await t.rejects(start(app), {
    code: 'WARDEN_ERR_UNGUARDED_ROUTE',
    message: /route 'GET \/status' falls under the default security .* or make the route public with security: \[\]/
  })
  await app.close()

  const ok = Fastify()
  ok.get('/status', { schema: { security: [] } }, async () => 'open')
  await core(ok)
  await bearer(ok)
  ok.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }] } }, async () => ['a note'])
  await ok.ready()
  t.equal((await ok.inject({ url: '/status' })).statusCode, 200, 'the public route is served')
  t.equal((await ok.inject({ url: '/notes' })).statusCode, 401)
  t.match(
    ok.warden.routes.map((r) => `${r.method} ${r.url} ${JSON.stringify(r.security)}`),
    ['GET /status []', 'GET /notes [{"oauth2":["notes:read"]}]', 'HEAD /status []', 'HEAD /notes [{"oauth2":["notes:read"]}]'].map(
      (s) => new RegExp(s.replace(/[[\]{}]/g, '\\$&'))
    ),
    'warden.routes lists every route of the app, also those the core did not see'
  )
  t.same(await checkSecurityContract(ok, { credentials: { oauth2: (scope) => ({ authorization: token(ok, scope) }) } }), [])
  await ok.close()
})

t.test('a route the core did not see fails even when several do', async (t) => {
  const app = Fastify()
  void app.register(notes, { prefix: '/a' })
  void app.register(notes, { prefix: '/b' })
  await core(app)
  await bearer(app)
  await t.rejects(start(app), { code: 'WARDEN_ERR_UNGUARDED_ROUTE', message: /'GET \/a\/notes' .*\(1 more: GET \/b\/notes\)/ })
  await app.close()
})

t.test('a route outside the context the core was registered in fails', async (t) => {
  const app = Fastify()
  await app.register(async (api) => {
    await core(api)
    await bearer(api)
    api.get('/inside', async () => 'guarded')
  })
  await app.register(notes)
  await t.rejects(start(app), { code: 'WARDEN_ERR_UNGUARDED_ROUTE', message: /'GET \/notes'/ })
  await app.close()
})

t.test('orders after the core are enforced: 401 without a token, 200 with one', async (t) => {
  const orders: Array<[string, (app: FastifyInstance) => Promise<void>, string]> = [
    [
      'the route before the scheme it names',
      async (app) => {
        await core(app)
        await app.register(notes)
        await bearer(app)
      },
      '/notes'
    ],
    [
      'the scheme before the route',
      async (app) => {
        await core(app)
        await bearer(app)
        await app.register(notes)
      },
      '/notes'
    ],
    [
      'a prefixed, encapsulated plugin',
      async (app) => {
        await core(app)
        await app.register(
          async (outer) => {
            await outer.register(notes, { prefix: '/inner' })
          },
          { prefix: '/outer' }
        )
        await bearer(app)
      },
      '/outer/inner/notes'
    ],
    [
      'a plugin in avvio order (no await)',
      async (app) => {
        void app.register(warden, { scopes: SCOPES })
        void app.register(notes)
        void app.register(oauth2Bearer, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE })
      },
      '/notes'
    ],
    [
      'app.route()',
      async (app) => {
        await core(app)
        app.route({ method: 'GET', url: '/notes', schema: { security: [{ oauth2: ['notes:read'] }] }, handler: async () => ['a note'] })
        await bearer(app)
      },
      '/notes'
    ],
    [
      'a prefixed root route with a trailing slash',
      async (app) => {
        await core(app)
        await bearer(app)
        await app.register(
          async (p) => {
            p.get('/', { schema: { security: [{ oauth2: ['notes:read'] }] } }, async () => ['a note'])
          },
          { prefix: '/notes' }
        )
      },
      '/notes/'
    ]
  ]
  for (const [order, build, url] of orders) {
    const app = Fastify()
    await build(app)
    await app.ready()
    t.equal((await app.inject({ url })).statusCode, 401, `${order}: no token`)
    t.equal((await app.inject({ url, method: 'HEAD' })).statusCode, 401, `${order}: HEAD, no token`)
    t.equal((await app.inject({ url, headers: { authorization: token(app, []) } })).statusCode, 403, `${order}: too few scopes`)
    t.equal((await app.inject({ url, headers: { authorization: token(app) } })).statusCode, 200, `${order}: a good token`)
    await app.close()
  }
})

t.test('every shorthand and app.all() are enforced', async (t) => {
  const app = Fastify()
  await core(app)
  await bearer(app)
  for (const method of ['get', 'post', 'put', 'patch', 'delete', 'options'] as const) {
    app[method](`/s/${method}`, async () => 'open')
  }
  app.all('/all', async () => 'open')
  await app.ready()
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
    t.equal((await app.inject({ method, url: `/s/${method.toLowerCase()}` })).statusCode, 401, method)
    t.equal((await app.inject({ method, url: '/all' })).statusCode, 401, `all: ${method}`)
  }
  await app.close()
})

t.test('openapi after the routes fails loud; before them it documents every one', async (t) => {
  const late = Fastify()
  await core(late)
  await bearer(late)
  await late.register(notes)
  await late.register(openapi, { info: { title: 'notes', version: '1' } })
  await t.rejects(start(late), {
    code: 'WARDEN_ERR_UNDOCUMENTED_ROUTE',
    message: /route 'GET \/notes' was registered before the openapi plugin .* register openapi before the plugin that adds it/
  })
  await late.close()

  const app = Fastify()
  await core(app)
  await app.register(openapi, { info: { title: 'notes', version: '1' } })
  await app.register(notes)
  await bearer(app)
  await app.ready()
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.same(doc.paths['/notes'].get.security, [{ oauth2: ['notes:read'] }])
  t.ok(doc.components.securitySchemes.oauth2, 'the scheme registered after openapi is documented')
  t.equal((await app.inject({ url: '/notes' })).statusCode, 401)
  await app.close()
})

t.test('cors before or after the core: the preflight stays public, the route guarded', async (t) => {
  for (const first of ['cors', 'core'] as const) {
    const app = Fastify()
    const corsPlugin = async (): Promise<void> => {
      await app.register(cors, { origins: ['https://app.example.com'] })
    }
    if (first === 'cors') await corsPlugin()
    await core(app)
    if (first === 'core') await corsPlugin()
    await bearer(app)
    await app.register(notes)
    await app.ready()
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/notes',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' }
    })
    t.equal(preflight.statusCode, 204, `${first} first: preflight`)
    t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com')
    t.equal((await app.inject({ url: '/notes', headers: { origin: 'https://app.example.com' } })).statusCode, 401, `${first} first: the route`)
    await app.close()
  }
})

t.test('an API-key scheme registered after the routes that name it is enforced', async (t) => {
  const app = Fastify()
  await core(app)
  app.get('/keys-only', { schema: { security: [{ apiKey: [] }] } }, async () => 'ok')
  await app.register(apiKey, { secret: SECRET, lookup: () => null })
  await app.ready()
  t.equal((await app.inject({ url: '/keys-only' })).statusCode, 401)
  await app.close()
})
