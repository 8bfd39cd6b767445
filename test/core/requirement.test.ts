import t from 'tap'
import { schemesApp } from '../helpers/schemes.js'

const echo = async (request: { auth: unknown }) => ({ auth: request.auth })

t.test('a list of requirements is OR: any one alternative admits the caller', async (t) => {
  const { app, token, readKey, basic } = await schemesApp()
  app.get('/r', { schema: { security: [{ oauth2: ['users:read'] }, { apiKey: ['users:read'] }, { basic: [] }] } }, echo)
  await app.ready()
  const bearer = await app.inject({ url: '/r', headers: { authorization: `Bearer ${token(['users:read'])}` } })
  t.equal(bearer.statusCode, 200)
  t.match(bearer.json().auth, { scheme: 'oauth2', subject: 'user-1', scopes: ['users:read'], claims: { sub: 'user-1' } })
  const key = await app.inject({ url: '/r', headers: { 'x-api-key': readKey } })
  t.equal(key.statusCode, 200)
  t.same(key.json().auth, { scheme: 'apiKey', subject: 'svc-reader', scopes: ['users:read'], apiKeyId: 'key-read' })
  const user = await app.inject({ url: '/r', headers: { authorization: basic('alice', 'correct horse') } })
  t.equal(user.statusCode, 200)
  t.same(user.json().auth, { scheme: 'basic', subject: 'alice', scopes: ['users:read'] })
})

t.test('keys of one requirement are AND: every scheme must admit the caller', async (t) => {
  const { app, token, readKey } = await schemesApp()
  app.get('/both', { schema: { security: [{ oauth2: [], apiKey: ['users:read'] }] } }, echo)
  await app.ready()
  const both = await app.inject({ url: '/both', headers: { authorization: `Bearer ${token()}`, 'x-api-key': readKey } })
  t.equal(both.statusCode, 200)
  t.equal(both.json().auth.scheme, 'oauth2', 'the principal is the first scheme of the requirement')
  const one = await app.inject({ url: '/both', headers: { authorization: `Bearer ${token()}` } })
  t.equal(one.statusCode, 401)
  t.same(one.headers['www-authenticate'], ['Bearer realm="api"', 'ApiKey realm="api", header="X-API-Key", scope="users:read"'])
})

t.test('a 401 names the scopes the route asks of each scheme (RFC 6750 §3), so a client asks for those and no more', async (t) => {
  const { app, token } = await schemesApp()
  app.get('/tools', { schema: { security: [{ oauth2: ['users:read', 'users:write'] }, { apiKey: [] }, { oauth2: ['admin'] }, { basic: [] }] } }, echo)
  app.get('/any', { schema: { security: [{ oauth2: [] }, { oauth2: ['admin'] }] } }, echo)
  await app.ready()
  const expected = ['Bearer realm="api", scope="users:read users:write"', 'ApiKey realm="api", header="X-API-Key"', 'Basic realm="api", charset="UTF-8"']
  const none = await app.inject({ url: '/tools' })
  t.same(none.headers['www-authenticate'], expected, 'the first alternative naming a scheme gives its scopes; none asked, none named')
  const bad = await app.inject({ url: '/tools', headers: { authorization: 'Bearer x.y.z' } })
  t.same(bad.headers['www-authenticate'], ['Bearer realm="api", error="invalid_token", scope="users:read users:write"', ...expected.slice(1)])
  const weak = await app.inject({ url: '/tools', headers: { authorization: `Bearer ${token(['users:read'])}` } })
  t.equal(weak.statusCode, 403)
  t.equal(weak.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", scope="users:read users:write"')
  t.equal((await app.inject({ url: '/any' })).headers['www-authenticate'], 'Bearer realm="api"', 'a route a token without scopes can pass names none')
})

t.test('security: [] is public and request.auth stays null', async (t) => {
  const { app } = await schemesApp()
  app.get('/open', { schema: { security: [] } }, echo)
  await app.ready()
  const res = await app.inject({ url: '/open', headers: { authorization: 'Bearer not-even-a-token' } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { auth: null })
})

t.test('{} makes authentication optional, but a credential that is sent must be valid', async (t) => {
  const { app, token } = await schemesApp()
  app.get('/maybe', { schema: { security: [{ oauth2: ['users:read'] }, {}] } }, echo)
  await app.ready()
  const anonymous = await app.inject({ url: '/maybe' })
  t.equal(anonymous.statusCode, 200)
  t.same(anonymous.json(), { auth: null })
  const known = await app.inject({ url: '/maybe', headers: { authorization: `Bearer ${token(['users:read'])}` } })
  t.equal(known.json().auth.subject, 'user-1')
  const bad = await app.inject({ url: '/maybe', headers: { authorization: 'Bearer x.y.z' } })
  t.equal(bad.statusCode, 401)
  t.equal(bad.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", scope="users:read"')
  const unscoped = await app.inject({ url: '/maybe', headers: { authorization: `Bearer ${token([])}` } })
  t.equal(unscoped.statusCode, 200, 'a valid credential without the scope is still admitted as itself')
  t.same(unscoped.json().auth.scopes, [])
})

t.test('routes without security get the default: any registered scheme (secure by default)', async (t) => {
  const { app, readKey } = await schemesApp()
  app.get('/default', echo)
  await app.ready()
  const res = await app.inject({ url: '/default' })
  t.equal(res.statusCode, 401)
  t.same(res.headers['www-authenticate'], ['Bearer realm="api"', 'ApiKey realm="api", header="X-API-Key"', 'Basic realm="api", charset="UTF-8"'])
  t.equal((await app.inject({ url: '/default', headers: { 'x-api-key': readKey } })).statusCode, 200)
})

t.test('defaultSecurity and setDefaultSecurity() set the default for a context and its children', async (t) => {
  const { app, token } = await schemesApp({ warden: { defaultSecurity: [{ oauth2: ['admin'] }] } })
  app.get('/admin', echo)
  await app.register(async (child) => {
    child.setDefaultSecurity([])
    child.get('/public', echo)
    await child.register(async (grandchild) => {
      grandchild.get('/public/too', echo)
    })
  })
  app.get('/after', echo)
  await app.ready()
  t.equal((await app.inject({ url: '/admin', headers: { authorization: `Bearer ${token(['users:read'])}` } })).statusCode, 403)
  t.equal((await app.inject({ url: '/admin', headers: { authorization: `Bearer ${token(['admin'])}` } })).statusCode, 200)
  t.equal((await app.inject({ url: '/public' })).statusCode, 200)
  t.equal((await app.inject({ url: '/public/too' })).statusCode, 200)
  t.equal((await app.inject({ url: '/after' })).statusCode, 401, 'the parent context keeps its default')
})

t.test('403 names the missing scope; 401 challenges every accepted scheme', async (t) => {
  const { app, token } = await schemesApp()
  app.delete('/users/:id', { schema: { security: [{ oauth2: ['users:write', 'admin'] }] } }, echo)
  await app.ready()
  const res = await app.inject({ method: 'DELETE', url: '/users/1', headers: { authorization: `Bearer ${token(['users:write'])}` } })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", scope="users:write admin"')
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(res.json(), { type: 'about:blank', title: 'Forbidden', status: 403, detail: 'The credentials presented do not grant access to this resource.' })
  const none = await app.inject({ method: 'DELETE', url: '/users/1' })
  t.equal(none.statusCode, 401)
  t.same(none.json(), { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'Authentication is required to access this resource.' })
})

t.test('the reply is about the credential actually presented', async (t) => {
  const { app, token, readKey, basic } = await schemesApp()
  app.get('/r', { schema: { security: [{ oauth2: ['users:read'] }, { apiKey: ['admin'] }, { basic: [] }] } }, echo)
  await app.ready()
  const badToken = await app.inject({ url: '/r', headers: { authorization: 'Bearer abc.def.ghi' } })
  t.equal(badToken.statusCode, 401)
  t.same(badToken.headers['www-authenticate'], [
    'Bearer realm="api", error="invalid_token", scope="users:read"',
    'ApiKey realm="api", header="X-API-Key", scope="admin"',
    'Basic realm="api", charset="UTF-8"'
  ])
  t.equal(badToken.json().detail, 'The credentials presented are invalid or have expired.')

  const badKey = await app.inject({ url: '/r', headers: { 'x-api-key': readKey.slice(0, -1) + (readKey.endsWith('A') ? 'B' : 'A') } })
  t.same(badKey.headers['www-authenticate'], [
    'Bearer realm="api", scope="users:read"',
    'ApiKey realm="api", header="X-API-Key", error="invalid_token", scope="admin"',
    'Basic realm="api", charset="UTF-8"'
  ])

  const badPassword = await app.inject({ url: '/r', headers: { authorization: basic('alice', 'wrong') } })
  t.equal(badPassword.statusCode, 401)
  t.equal(badPassword.json().detail, 'The credentials presented are invalid or have expired.')

  const weakKey = await app.inject({ url: '/r', headers: { 'x-api-key': readKey } })
  t.equal(weakKey.statusCode, 403, 'a valid key without the scope is a 403, not "missing token"')
  t.equal(weakKey.headers['www-authenticate'], 'ApiKey realm="api", header="X-API-Key", error="insufficient_scope", scope="admin"')

  const mixed = await app.inject({ url: '/r', headers: { authorization: `Bearer ${token([])}`, 'x-api-key': 'wdn_nonsense' } })
  t.equal(mixed.statusCode, 401, 'an invalid credential wins over a merely unscoped one')
})

t.test('authentication runs before the body is parsed and before route hooks', async (t) => {
  const { app } = await schemesApp()
  const seen: string[] = []
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    seen.push('parse')
    done(null, JSON.parse(body as string))
  })
  app.post(
    '/p',
    {
      schema: { security: [{ oauth2: [] }] },
      onRequest: async () => {
        seen.push('route hook')
      }
    },
    echo
  )
  await app.ready()
  const res = await app.inject({ method: 'POST', url: '/p', payload: { a: 1 } })
  t.equal(res.statusCode, 401)
  t.same(seen, [])
})

t.test('HEAD routes are protected like their GET', async (t) => {
  const { app, readKey } = await schemesApp()
  app.get('/h', { schema: { security: [{ apiKey: [] }] } }, echo)
  await app.ready()
  t.equal((await app.inject({ method: 'HEAD', url: '/h' })).statusCode, 401)
  t.equal((await app.inject({ method: 'HEAD', url: '/h', headers: { 'x-api-key': readKey } })).statusCode, 200)
})

t.test('a scheme that fails (store down) is a 503 with Retry-After: not an admission, not a 401, not a 500', async (t) => {
  const { app, token } = await schemesApp()
  const logs: Array<Record<string, unknown>> = []
  app.addHook('onRequest', async (request) => {
    request.log = Object.assign(Object.create(request.log), {
      error: (entry: Record<string, unknown>) => {
        logs.push(entry)
      }
    })
  })
  for (const [name, authenticate] of [
    [
      'flaky',
      async () => {
        throw new Error('store unavailable')
      }
    ],
    [
      'broken',
      () => {
        throw new Error('lookup threw')
      }
    ]
  ] as const) {
    app.warden.addScheme({ name, scopes: new Set(), openapi: { type: 'http', scheme: 'bearer' }, challenge: () => 'Flaky', authenticate })
  }
  app.get('/f', { schema: { security: [{ flaky: [] }] } }, echo)
  app.get('/b', { schema: { security: [{ broken: [] }] } }, echo)
  app.get('/either', { schema: { security: [{ flaky: [] }, { oauth2: [] }] } }, echo)
  await app.ready()
  for (const url of ['/f', '/b']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 503, url)
    t.equal(res.headers['retry-after'], '5')
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.same(res.json(), {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The service cannot check credentials right now; try again shortly.'
    })
  }
  t.match(
    logs,
    [
      { event: 'auth.unavailable', scheme: 'flaky' },
      { event: 'auth.unavailable', scheme: 'broken' }
    ],
    'an error event names the scheme'
  )
  // The first alternative's store is down; the bearer token that came along does not turn it into an admission.
  const both = await app.inject({ url: '/either', headers: { authorization: `Bearer ${token()}` } })
  t.equal(both.statusCode, 503, 'also when another accepted credential came with it')
})

t.test('unknown routes are a problem+json 404; errorHandler: false leaves the app its own handlers', async (t) => {
  const { app } = await schemesApp()
  const res = await app.inject({ url: '/nowhere?secret=1' })
  t.equal(res.statusCode, 404)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(res.json(), { type: 'about:blank', title: 'Not Found', status: 404, detail: 'No route for GET /nowhere.' })

  const own = await schemesApp({ warden: { errorHandler: false } })
  own.app.get('/boom', { schema: { security: [] } }, async () => {
    throw new Error('internal detail')
  })
  t.equal((await own.app.inject({ url: '/nowhere' })).json().message, 'Route GET:/nowhere not found')
  t.equal((await own.app.inject({ url: '/boom' })).json().message, 'internal detail', "Fastify's default handler, as the app asked")
})

t.test(
  'pinned rules: each scheme once per request and per challenge list, AND terms without scopes are no 403 challenge, the presented credential decides',
  async (t) => {
    const { app, token, readKey } = await schemesApp()
    let calls = 0
    const counted = app.warden.schemes.get('apiKey')!
    app.warden.addScheme({
      ...counted,
      name: 'counted',
      authenticate: (request) => {
        calls++
        return counted.authenticate(request)
      }
    })
    app.get('/twice', { schema: { security: [{ counted: ['users:write'] }, { counted: ['users:read'] }, { oauth2: ['admin'] }] } }, echo)
    app.get('/and', { schema: { security: [{ oauth2: [], apiKey: ['users:write'] }] } }, echo)
    await app.ready()

    const twice = await app.inject({ url: '/twice', headers: { 'x-api-key': readKey } })
    t.equal(twice.statusCode, 200)
    t.equal(calls, 1, 'a scheme named by two alternatives runs once')
    const none = await app.inject({ url: '/twice' })
    t.same(
      none.headers['www-authenticate'],
      ['ApiKey realm="api", header="X-API-Key", scope="users:write"', 'Bearer realm="api", scope="admin"'],
      'and is challenged once, with the scopes of the first alternative naming it'
    )

    const short = await app.inject({ url: '/and', headers: { authorization: `Bearer ${token()}`, 'x-api-key': readKey } })
    t.equal(short.statusCode, 403)
    t.equal(
      short.headers['www-authenticate'],
      'ApiKey realm="api", header="X-API-Key", error="insufficient_scope", scope="users:write"',
      'only the term that asks for a scope is challenged for it'
    )

    const badKey = await app.inject({ url: '/and', headers: { 'x-api-key': 'wdn_bad' } })
    t.equal(badKey.statusCode, 401)
    t.same(
      badKey.headers['www-authenticate'],
      ['Bearer realm="api"', 'ApiKey realm="api", header="X-API-Key", error="invalid_token", scope="users:write"'],
      'the bearer term fails first (no token), yet the answer is about the key that was sent: every scheme is consulted'
    )
  }
)

t.test("a user's scheme may answer with a thenable that is not a native Promise, and its rejection is a 503 naming the scheme", async (t) => {
  const { app, readKey } = await schemesApp()
  const apiKey = app.warden.schemes.get('apiKey')!
  const thenable = (run: () => unknown): PromiseLike<never> => ({
    then: (resolve, reject) =>
      Promise.resolve()
        .then(run)
        .then(resolve as never, reject) as never
  })
  app.warden.addScheme({ ...apiKey, name: 'lazy', authenticate: (request) => thenable(() => apiKey.authenticate(request)) as never })
  app.warden.addScheme({
    ...apiKey,
    name: 'failing',
    authenticate: () =>
      thenable(() => {
        throw new Error('store down')
      }) as never
  })
  app.get('/lazy', { schema: { security: [{ lazy: ['users:read'] }] } }, echo)
  app.get('/failing', { schema: { security: [{ failing: [] }] } }, echo)
  await app.ready()
  const ok = await app.inject({ url: '/lazy', headers: { 'x-api-key': readKey } })
  t.equal(ok.statusCode, 200)
  t.match(ok.json().auth, { scheme: 'apiKey', subject: 'svc-reader' })
  t.equal((await app.inject({ url: '/lazy', headers: { 'x-api-key': 'wdn_bad' } })).statusCode, 401)
  const down = await app.inject({ url: '/failing', headers: { 'x-api-key': readKey } })
  t.equal(down.statusCode, 503)
  t.notMatch(down.body, /store down/, 'the cause stays in the log')
})
