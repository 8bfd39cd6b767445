import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { schemesApp } from '../helpers/schemes.js'
import { openapi, warden, oauth2Bearer, ScopeDemandRefused, INVALID_CREDENTIALS } from '../../plugins/index.js'
import { SECRET, ISSUER, AUDIENCE } from '../helpers/keys.js'

// Scopes a route demands once the body says which operation a request is: declared by label in
// 'x-scope-demands', demanded by the handler with request.demandScopes(label), answered exactly as
// the route's guard answers.

const DEMANDS = { list: [], write: ['users:write'], purge: ['users:write', 'admin'] }

/** A JSON-RPC-like route: the operation is in the body, its scopes demanded before it runs. */
function rpcRoute (app: FastifyInstance, url: string, security: Array<Record<string, string[]>>): void {
  app.post<{ Body: { op: string } }>(url, { schema: { security, 'x-scope-demands': DEMANDS } }, async (request) => {
    request.demandScopes(request.body.op)
    return { ran: request.body.op, by: request.auth?.subject ?? null }
  })
}

t.test('a demand is met by the token\'s scopes and refused as the guard refuses: same status, challenge, body and event', async (t) => {
  const events: Array<{ event?: string, demand?: string }> = []
  const logger = { level: 'info', stream: { write: (line: string) => events.push(JSON.parse(line)) } }
  const { app, token } = await schemesApp({ fastify: { logger } })
  rpcRoute(app, '/rpc', [{ oauth2: ['users:read'] }])
  app.get('/admin', { schema: { security: [{ oauth2: ['users:write'] }] } }, async () => 'ok')
  await app.ready()
  const reader = { authorization: `Bearer ${token(['users:read'])}` }
  const ok = await app.inject({ method: 'POST', url: '/rpc', headers: reader, payload: { op: 'list' } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { ran: 'list', by: 'user-1' })

  const refused = await app.inject({ method: 'POST', url: '/rpc', headers: reader, payload: { op: 'write' } })
  const guard = await app.inject({ url: '/admin', headers: reader })
  t.equal(refused.statusCode, 403)
  t.equal(
    refused.headers['www-authenticate'],
    'Bearer realm="api", error="insufficient_scope", scope="users:read users:write"',
    'every scope the operation needs, the route\'s and the label\'s: a client that asks for exactly these gets through'
  )
  t.equal(refused.headers['content-type'], guard.headers['content-type'])
  t.equal(refused.body, guard.body, 'the body the guard sends for its own 403')
  const denied = events.filter((e) => e.event === 'auth.scope.denied')
  t.same(denied.map((e) => e.demand), ['write', undefined], 'one auth.scope.denied event each, the demand naming its label')

  const both = await app.inject({ method: 'POST', url: '/rpc', headers: reader, payload: { op: 'purge' } })
  t.equal(both.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", scope="users:read users:write admin"')
  const writer = { authorization: `Bearer ${token(['users:read', 'users:write'])}` }
  t.equal((await app.inject({ method: 'POST', url: '/rpc', headers: writer, payload: { op: 'write' } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/rpc', headers: writer, payload: { op: 'purge' } })).statusCode, 403, 'every scope of the label')
})

t.test('the challenge is that of the scheme that admitted the caller; an anonymous caller of an optional route gets the route\'s 401', async (t) => {
  const { app, readKey } = await schemesApp()
  rpcRoute(app, '/either', [{ oauth2: ['users:read'] }, { apiKey: ['users:read'] }])
  rpcRoute(app, '/maybe', [{ oauth2: [] }, {}])
  await app.ready()
  const byKey = await app.inject({ method: 'POST', url: '/either', headers: { 'x-api-key': readKey }, payload: { op: 'write' } })
  t.equal(byKey.statusCode, 403)
  t.equal(byKey.headers['www-authenticate'], 'ApiKey realm="api", header="X-API-Key", error="insufficient_scope", scope="users:read users:write"')

  const anonymous = await app.inject({ method: 'POST', url: '/maybe', payload: { op: 'write' } })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="api", scope="users:write"', 'the scopes the operation needs, for a client to ask for')
  t.equal(anonymous.json().detail, 'Authentication is required to access this resource.')
  const free = await app.inject({ method: 'POST', url: '/maybe', payload: { op: 'list' } })
  t.same(free.json(), { ran: 'list', by: null }, 'a label that demands nothing lets an anonymous caller through')
})

t.test('a token with exactly the scopes a 403 names gets through, whichever alternative let its caller in', async (t) => {
  const { app, token } = await schemesApp()
  // The token's first way in asks for admin; this caller uses the second, users:read.
  rpcRoute(app, '/rpc', [{ oauth2: ['admin'] }, { apiKey: [] }, { oauth2: ['users:read'] }])
  await app.ready()
  const call = async (scopes: string[]) =>
    await app.inject({ method: 'POST', url: '/rpc', headers: { authorization: `Bearer ${token(scopes)}` }, payload: { op: 'write' } })
  const first = await call(['users:read'])
  t.equal(first.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", scope="users:read users:write"')
  const asked = /scope="([^"]*)"/.exec(first.headers['www-authenticate'] as string)![1].split(' ')
  t.equal((await call(asked)).statusCode, 200, 'what the MCP SDK does on a 403: ask for exactly those scopes, and call again')
  const admin = await call(['admin'])
  t.equal(admin.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", scope="admin users:write"', 'and by the first')
})

t.test('a batch: its labels demanded at once, the 403 naming every scope the request needs, so one step-up serves it', async (t) => {
  const { app, token } = await schemesApp()
  app.post<{ Body: { ops: string[] } }>('/batch', { schema: { security: [{ oauth2: ['users:read'] }], 'x-scope-demands': DEMANDS } }, async (request) => {
    request.demandScopes(request.body.ops)
    return { ran: request.body.ops }
  })
  await app.ready()
  const call = async (scopes: string[], ops: string[]) =>
    await app.inject({ method: 'POST', url: '/batch', headers: { authorization: `Bearer ${token(scopes)}` }, payload: { ops } })
  const first = await call(['users:read'], ['list', 'write', 'purge'])
  t.equal(first.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", scope="users:read users:write admin"')
  const asked = /scope="([^"]*)"/.exec(first.headers['www-authenticate'] as string)![1].split(' ')
  t.equal((await call(asked, ['list', 'write', 'purge'])).statusCode, 200, 'the scopes it named serve the whole batch')
  t.equal((await call(['users:read'], [])).statusCode, 200, 'no label, nothing demanded')
  t.equal((await call(['users:read'], ['write', 'nope'])).statusCode, 500, 'a label not declared, among others: the handler\'s bug')
})

t.test('an optional route: a caller admitted as itself, without the route\'s scope, does not pass a demand by the label\'s alone', async (t) => {
  const { app, token } = await schemesApp()
  rpcRoute(app, '/maybe', [{}, { oauth2: ['users:read'] }])
  await app.ready()
  const call = async (scopes: string[]) =>
    await app.inject({ method: 'POST', url: '/maybe', headers: { authorization: `Bearer ${token(scopes)}` }, payload: { op: 'write' } })
  const writerOnly = await call(['users:write'])
  t.equal(writerOnly.statusCode, 403)
  t.equal(writerOnly.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", scope="users:read users:write"')
  t.equal((await call(['users:read', 'users:write'])).statusCode, 200)
})

t.test('a principal whose scheme field names another scheme (a wrapping scheme of the app\'s own) is refused 403 like the guard does', async (t) => {
  const { app } = await schemesApp()
  app.warden.addScheme({
    name: 'session',
    scopes: new Set(['users:read', 'users:write', 'admin']),
    openapi: { type: 'apiKey', in: 'cookie', name: 'sid' },
    challenge: app.warden.challenge('Session', [['realm', 'api']], true),
    authenticate: (request) => {
      if (request.headers.cookie === undefined) return null
      return request.headers.cookie === 'sid=1' ? { scheme: 'cookie-session', subject: 's-1', scopes: ['users:read'] } : INVALID_CREDENTIALS
    }
  })
  rpcRoute(app, '/rpc', [{ session: [] }])
  await app.ready()
  const res = await app.inject({ method: 'POST', url: '/rpc', headers: { cookie: 'sid=1' }, payload: { op: 'write' } })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Session realm="api", error="insufficient_scope", scope="users:write"')
})

t.test('a label the route does not declare, or a route without demands, is the handler\'s bug: a 500 that says nothing', async (t) => {
  const { app, token } = await schemesApp()
  rpcRoute(app, '/rpc', [{ oauth2: [] }])
  app.post('/plain', { schema: { security: [{ oauth2: [] }] } }, async (request) => {
    request.demandScopes('write')
    return 'ran'
  })
  await app.ready()
  const headers = { authorization: `Bearer ${token(['users:write', 'admin'])}` }
  for (const [url, op] of [['/rpc', 'delete_everything'], ['/rpc', 'constructor'], ['/rpc', '__proto__'], ['/plain', 'write']]) {
    const res = await app.inject({ method: 'POST', url, headers, payload: { op } })
    t.equal(res.statusCode, 500, `${url} ${op}`)
    t.equal(res.json().detail, 'The server could not complete the request.')
    t.notMatch(res.body, op === 'write' ? /x-scope-demands/ : op, 'nothing of the label or the route goes out')
  }
})

t.test('declared demands are checked at ready(), naming the route', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['not an object', { 'x-scope-demands': ['users:write'] }, /must be an object of label to scopes/],
    ['no label', { 'x-scope-demands': {} }, /must name at least one label/],
    ['a bad scope name', { 'x-scope-demands': { write: ['users write'] } }, /'write' must be an array of scope names/],
    ['a label with a control character', { 'x-scope-demands': { 'a\nb': [] } }, /control characters/],
    ['a label too long', { 'x-scope-demands': { ['a'.repeat(129)]: [] } }, /longer than 128/],
    [
      'an AND alternative (which principal would have to hold the scope?)',
      { security: [{ oauth2: [], apiKey: [] }], 'x-scope-demands': { write: ['users:write'] } },
      / but an alternative of its security names several schemes/
    ],
    ['a scope no scheme of the route declares', { 'x-scope-demands': { write: ['reports:export'] } }, /'write' asks for scope 'reports:export', which none/]
  ]
  for (const [what, extra, message] of cases) {
    const { app } = await schemesApp()
    app.post('/rpc', { schema: { security: [{ oauth2: [] }], ...extra } }, async () => 'ok')
    const expected = { code: 'WARDEN_ERR_REQUIREMENT', message: new RegExp("route 'POST /rpc': .*'x-scope-demands'.*" + message.source) }
    await t.rejects(async () => { await app.ready() }, expected, what)
  }
  const { app } = await schemesApp()
  t.throws(
    () => app.post('/open', { schema: { security: [], 'x-scope-demands': { write: ['users:write'] } } }, async () => 'ok'),
    { code: 'WARDEN_ERR_REQUIREMENT', message: /is public \(security: \[\]\) but asks for .*'x-scope-demands'/ }
  )
})

t.test('without the core\'s error handler, Fastify\'s own sends the status and the challenge, with the error\'s code', async (t) => {
  const app = Fastify()
  await app.register(warden, { scopes: { read: 'r', write: 'w' }, errorHandler: false })
  await app.register(oauth2Bearer, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE })
  let thrown: unknown
  app.setErrorHandler((err, _request, reply) => {
    thrown = err
    return reply.send(err)
  })
  app.post('/rpc', { schema: { security: [{ oauth2: ['read'] }], 'x-scope-demands': { write: ['write'] } } }, async (request) => {
    request.demandScopes('write')
    return 'ran'
  })
  await app.ready()
  const reader = app.accessTokens.sign({ sub: 'u', scope: ['read'] }).token
  const res = await app.inject({ method: 'POST', url: '/rpc', headers: { authorization: `Bearer ${reader}` } })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", scope="read write"')
  t.equal(res.json().code, 'WARDEN_ERR_SCOPE_DEMAND')
  t.ok(thrown instanceof ScopeDemandRefused, 'an app\'s handler can tell it apart')
})

t.test('the document shows the demands on the operation, and its 403 even when security asks for no scope', async (t) => {
  const { app } = await schemesApp()
  await app.register(openapi, { info: { title: 't', version: '1' } })
  rpcRoute(app, '/rpc', [{ oauth2: [] }])
  app.post('/free', { schema: { security: [{ oauth2: [] }], 'x-scope-demands': { list: [] } } }, async () => 'ok')
  await app.ready()
  const paths = (app.swagger() as unknown as { paths: Record<string, Record<string, Record<string, unknown>>> }).paths
  t.same(paths['/rpc'].post['x-scope-demands'], DEMANDS)
  t.ok((paths['/rpc'].post.responses as Record<string, unknown>)['403'], 'a demand can answer 403')
  t.notOk((paths['/free'].post.responses as Record<string, unknown>)['403'], 'demands of no scope cannot')
})
