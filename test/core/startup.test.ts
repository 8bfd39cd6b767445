import t from 'tap'
import Fastify from 'fastify'
import { warden, errors } from '../../plugins/index.js'
import { schemesApp } from '../helpers/schemes.js'

const ok = async () => 'ok'
const start = async (app: { ready: () => PromiseLike<unknown> }): Promise<void> => {
  await app.ready()
}

t.test('a requirement naming an unregistered scheme fails at start-up, naming route and scheme', async (t) => {
  const { app } = await schemesApp()
  app.get('/x', { schema: { security: [{ oauth: ['users:read'] }] } }, ok)
  await t.rejects(start(app), {
    code: 'WARDEN_ERR_UNKNOWN_SCHEME',
    message: "route 'GET /x': security scheme 'oauth' is not registered (registered: oauth2, apiKey, basic)"
  })
})

t.test('a scope the scheme does not declare fails at start-up, naming route, scheme and scope', async (t) => {
  const { app } = await schemesApp()
  app.post('/x', { schema: { security: [{ apiKey: ['users:read'] }, { oauth2: ['users:delete'] }] } }, ok)
  await t.rejects(start(app), { code: 'WARDEN_ERR_UNKNOWN_SCOPE', message: "route 'POST /x': security scheme 'oauth2' does not declare scope 'users:delete'" })
})

t.test('a malformed requirement fails when the route is added', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ oauth2: [] }, /must be an array/],
    [[null], /\[0\] must be an object/],
    [[['oauth2']], /\[0\] must be an object/],
    [[{ oauth2: 'users:read' }], /\[0\]\.oauth2 must be an array of scope names/],
    [[{ oauth2: ['has space'] }], /must be an array of scope names/],
    [[{ 'bad name': [] }], /invalid scheme name/],
    // The whole name and the whole scope are checked, not a part of them.
    [[{ ' oauth2': [] }], /^route 'GET \/x': schema\.security \[0\] has an invalid scheme name ' oauth2'$/],
    [[{ 'oauth2 ': [] }], /invalid scheme name 'oauth2 '/],
    [[{}, { oauth2: [' users:read'] }], /^route 'GET \/x': schema\.security \[1\]\.oauth2 must be an array of scope names$/],
    [[{ oauth2: ['users:read '] }], /must be an array of scope names/],
    [[{ oauth2: ['users:read', 7] }], /must be an array of scope names/],
    ['oauth2', /^route 'GET \/x': schema\.security must be an array of Security Requirement objects$/],
    [[7], /^route 'GET \/x': schema\.security \[0\] must be an object of scheme name to scopes$/]
  ]
  for (const [security, message] of cases) {
    const { app } = await schemesApp()
    t.throws(() => app.get('/x', { schema: { security: security as never } }, ok), { code: 'WARDEN_ERR_REQUIREMENT', message })
    await app.close()
  }
})

t.test('with no scheme registered, a route that needs one cannot start', async (t) => {
  const app = Fastify()
  await app.register(warden)
  app.get('/x', ok)
  await t.rejects(start(app), { code: 'WARDEN_ERR_UNKNOWN_SCHEME', message: /GET \/x.*\(default: any\).*none/ })
})

t.test('a route naming a scheme when none is registered says so', async (t) => {
  const app = Fastify()
  await app.register(warden)
  app.get('/x', { schema: { security: [{ oauth2: [] }] } }, ok)
  await t.rejects(start(app), { code: 'WARDEN_ERR_UNKNOWN_SCHEME', message: "route 'GET /x': security scheme 'oauth2' is not registered (registered: none)" })
})

t.test('a scheme name registered twice is refused', async (t) => {
  const { app } = await schemesApp()
  const scheme = {
    name: 'apiKey',
    scopes: new Set<string>(),
    openapi: { type: 'http' as const, scheme: 'bearer' },
    challenge: () => 'X',
    authenticate: () => null
  }
  t.throws(() => app.warden.addScheme(scheme), { code: 'WARDEN_ERR_DUPLICATE_SCHEME', message: "security scheme 'apiKey' is already registered" })
})

t.test('core options are validated and never mutated', async (t) => {
  const bad: Array<[object, RegExp]> = [
    [{ realm: 'a"\r\nSet-Cookie: x' }, /option 'realm'/],
    [{ realm: '' }, /option 'realm'/],
    [{ scopes: ['users:read'] }, /option 'scopes' must be an object/],
    [{ scopes: { 'with space': 'x' } }, /option 'scopes.with space' is not a valid scope name/],
    [{ scopes: { ok: 1 } }, /option 'scopes.ok' must have a string description/],
    [{ defaultSecurity: {} }, /route 'defaultSecurity': schema.security must be an array/],
    [{ errorHandler: 'yes' }, /option 'errorHandler' must be a boolean/]
  ]
  for (const [opts, message] of bad) {
    const app = Fastify()
    await t.rejects(start(app.register(warden, opts as never)), { message }, JSON.stringify(opts))
  }
  const opts = { scopes: { a: 'A' }, defaultSecurity: [{ s: ['a'] }] }
  const copy = structuredClone(opts)
  const app = Fastify()
  await app.register(warden, opts)
  t.same(opts, copy)
  await app.close()
})

t.test('the realm is quoted safely in challenges', async (t) => {
  const { app } = await schemesApp({ warden: { realm: 'my "api" \\ v1' } })
  app.get('/x', { schema: { security: [{ oauth2: [] }] } }, ok)
  const res = await app.inject({ url: '/x' })
  t.equal(res.headers['www-authenticate'], 'Bearer realm="my \\"api\\" \\\\ v1"')
})

t.test('every error code is exported under its own name and documented in the README', async (t) => {
  const { readFile } = await import('node:fs/promises')
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  for (const [key, ErrorClass] of Object.entries(errors)) {
    const err = new ErrorClass('a', 'b', 'c')
    t.equal(err.code, key)
    t.ok(readme.includes(`\`${key}\``), `${key} is documented in README.md`)
  }
})
