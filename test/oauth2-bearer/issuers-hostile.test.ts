import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { createServer, type Server } from 'node:http'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { warden, oauth2Bearer, openapi, rateLimit, apiKey, generateApiKey, type IssuerOptions, type OAuth2BearerOptions } from '../../plugins/index.js'
import { forge } from '../helpers/jwt.js'
import { SCOPES, NOW } from '../helpers/schemes.js'
import { SECRET } from '../helpers/keys.js'

// `oauth2Bearer({ issuers })` as an outsider attacked it (a helper with no context wrote these
// probes; the seven that failed were fixed): issuer confusion, one issuer's users, outages and
// options leaking into another's, and what held.
const A = 'https://a.example'
const C = 'urn:example:partner'
const keyA = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const keyC = generateKeyPairSync('ed25519')
const jwk = (key: KeyObject, kid: string, alg: string) => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' })

function tokA (extra: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: KeyObject = keyA.privateKey): string {
  const iat = Math.floor(NOW / 1000)
  return forge({ alg: 'ES256', typ: 'at+jwt', kid: 'a1', ...header }, { iss: A, aud: 'https://api.example', sub: 'alice', jti: 'ja', scope: 'users:read', iat, exp: iat + 600, ...extra }, key)
}
function tokC (extra: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: KeyObject = keyC.privateKey): string {
  const iat = Math.floor(NOW / 1000)
  return forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'c1', ...header }, { iss: C, aud: 'https://api.example', sub: 'alice', jti: 'jc', scope: 'users:read', iat, exp: iat + 600, ...extra }, key)
}

const localIssuers = (): IssuerOptions[] => [
  { issuer: A, keys: [jwk(keyA.publicKey, 'a1', 'ES256')], audience: 'https://api.example' },
  { issuer: C, keys: [jwk(keyC.publicKey, 'c1', 'EdDSA')], audience: 'https://api.example' }
]

/** A JWKS endpoint that counts fetches; `hang` makes it accept and never answer. */
async function jwksServer (t: Test, keys: object[], hang = false) {
  const state = { fetches: 0 }
  const server: Server = createServer((_req, res) => {
    state.fetches++
    if (hang) return
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks` }
}

async function bearerApp (t: Test, options: Partial<OAuth2BearerOptions> & { issuers: IssuerOptions[] }, before?: (app: FastifyInstance) => Promise<void>) {
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  if (before !== undefined) await before(app)
  await app.register(oauth2Bearer, { now: () => NOW, ...options } as OAuth2BearerOptions)
  app.get('/read', { schema: { security: [{ oauth2: ['users:read'] }] } }, async ({ auth }) => ({ iss: auth?.claims?.iss, sub: auth?.subject }))
  t.teardown(() => app.close())
  return app
}

t.test('rate limit per principal: a user of issuer C with the same `sub` exhausts the bucket of issuer A\'s user', async (t) => {
  const app = await bearerApp(t, { issuers: localIssuers() }, async (app) => {
    await app.register(rateLimit, { max: 1000, timeWindow: 60_000, principal: { max: 3, timeWindow: 60_000 } })
  })
  await app.ready()
  const call = async (token: string) => await app.inject({ url: '/read', headers: { authorization: `Bearer ${token}` } })
  // The partner C (whose keys the API holds, i.e. a less trusted party) mints tokens for 'alice'.
  for (let i = 0; i < 3; i++) t.equal((await call(tokC({ jti: `c${i}` }))).statusCode, 200)
  t.equal((await call(tokC({ jti: 'c3' }))).statusCode, 429, 'C\'s alice is limited')
  const victim = await call(tokA())
  t.same(victim.json(), { iss: A, sub: 'alice' }, 'A\'s alice is a different principal (iss+sub) and has her own bucket')
  t.equal(victim.statusCode, 200, 'A\'s alice is not throttled by C\'s alice')
})

t.test('document names: a per-issuer scheme name colliding with another scheme is refused at registration, not when the document is built', async (t) => {
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  // Another scheme named exactly as the default per-issuer name of issuer A, either order.
  await app.register(apiKey, { name: 'oauth2.a.example', secret: SECRET, keys: [{ id: 'k', key: generateApiKey().key, subject: 's', scopes: ['users:read'] }] })
  await t.rejects(async () => { await app.register(oauth2Bearer, { issuers: localIssuers(), now: () => NOW }) }, {
    code: 'WARDEN_ERR_DUPLICATE_SCHEME',
    message: "security scheme 'oauth2.a.example' is already registered"
  })
  const other = Fastify()
  await other.register(warden, { scopes: SCOPES })
  await other.register(oauth2Bearer, { issuers: localIssuers(), now: () => NOW })
  await t.rejects(async () => {
    await other.register(apiKey, { name: 'oauth2.a.example', secret: SECRET, keys: [{ id: 'k', key: generateApiKey().key, subject: 's', scopes: [] }] })
  }, { code: 'WARDEN_ERR_DUPLICATE_SCHEME' })
})

t.test('held: issuer confusion and hostile tokens are 401 and cost no request', async (t) => {
  const a = await jwksServer(t, [jwk(keyA.publicKey, 'a1', 'ES256')])
  const app = await bearerApp(t, { prefetch: false, issuers: [{ issuer: A, jwksUrl: a.url, audience: 'https://api.example' }, localIssuers()[1]] })
  await app.ready()
  const call = async (token: string) => await app.inject({ url: '/read', headers: { authorization: `Bearer ${token}` } })
  t.equal((await call(tokA())).statusCode, 200)
  t.equal(a.state.fetches, 1)
  const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
  const good = tokA()
  const [h, , s] = good.split('.')
  const iat = Math.floor(NOW / 1000)
  const body = `"aud":"https://api.example","sub":"alice","jti":"x","scope":"users:read","iat":${iat},"exp":${iat + 600}`
  const cases: Array<[string, string]> = [
    [tokA({ iss: `${A}/` }, { kid: 'x1' }), 'trailing slash'],
    [tokA({ iss: A.toUpperCase() }, { kid: 'x2' }), 'case'],
    [tokA({ iss: 'https://а.example' }, { kid: 'x3' }), 'cyrillic a'],
    [tokA({ iss: [A] }, { kid: 'x4' }), 'array'],
    [tokA({ iss: { toString: A } }, { kid: 'x5' }), 'object'],
    [tokA({ iss: 1 }, { kid: 'x6' }), 'number'],
    [tokA({ iss: `${A}\u0000` }, { kid: 'x7' }), 'nul'],
    // Duplicate iss: routed by the last, verified by the last; signed by C, so C's key refuses it.
    [`${h}.${b64(`{"iss":"${A}",${body},"iss":"${C}"}`)}.${s}`, 'duplicate iss, payload swapped under A\'s signature'],
    [forge({ alg: 'none', typ: 'at+jwt' }, { iss: A, aud: 'https://api.example', sub: 'alice', jti: 'n', iat, exp: iat + 600 }), 'alg none'],
    [forge({ alg: 'HS256', typ: 'at+jwt', kid: 'a1' }, { iss: A, aud: 'https://api.example', sub: 'alice', jti: 'h', iat, exp: iat + 600 }, keyA.publicKey.export({ format: 'pem', type: 'spki' }) as string), 'HS256 with A\'s public key'],
    [forge({ alg: 'HS256', typ: 'at+jwt', kid: 'c1' }, { iss: C, aud: 'https://api.example', sub: 'alice', jti: 'h', iat, exp: iat + 600 }, Buffer.from(JSON.stringify(jwk(keyC.publicKey, 'c1', 'EdDSA')))), 'HS256 with C\'s JWK'],
    [tokA({}, { jku: a.url, kid: 'a1' }), 'jku'],
    [tokA({}, { jwk: jwk(keyA.publicKey, 'a1', 'ES256') }), 'jwk'],
    [tokA({}, { x5u: a.url }), 'x5u'],
    [`${good}.extra`, 'extra segment'],
    [`${h}.${b64('x')}.${b64('y')}.${b64('z')}.${b64('w')}`, 'JWE shape'],
    [tokA({ pad: 'x'.repeat(9000) }), 'huge'],
    [tokC({ aud: 'https://api.example' }, { alg: 'ES256', kid: 'a1' }, keyA.privateKey), 'iss C, A\'s kid and key'],
    [tokA({ iss: C }, {}, keyA.privateKey), 'iss C signed by A']
  ]
  for (const [token, why] of cases) {
    const res = await call(token)
    t.equal(res.statusCode, 401, why)
  }
  t.equal(a.state.fetches, 1, 'none of them made A fetch its keys (their kids are unknown only to A when routed to A)')
})

t.test('a hanging JWKS of issuer A delays neither issuer C\'s tokens nor A\'s beyond its timeout', async (t) => {
  const a = await jwksServer(t, [], true)
  const app = await bearerApp(t, {
    prefetch: false,
    issuers: [{ issuer: A, jwksUrl: a.url, audience: 'https://api.example', keySet: { timeout: 1000 } }, localIssuers()[1]]
  })
  await app.ready()
  const call = async (token: string) => await app.inject({ url: '/read', headers: { authorization: `Bearer ${token}` } })
  const started = Date.now()
  const pendingA = call(tokA())
  const c = await call(tokC())
  t.equal(c.statusCode, 200)
  t.ok(Date.now() - started < 300, 'C answered at once')
  const resA = await pendingA
  t.equal(resA.statusCode, 503)
  t.ok(Date.now() - started < 1500, `A gave up after its timeout, not twice it (${Date.now() - started} ms)`)
  // Within the cooldown, a flood of A's tokens with made-up kids asks nothing more.
  for (let i = 0; i < 20; i++) t.equal((await call(tokA({}, { kid: `k${i}` }))).statusCode, 503)
  t.equal(a.state.fetches, 1, 'one fetch: no retry after a timeout')
})

/** An app whose log lines are kept. */
async function loggedApp (t: Test, options: Partial<OAuth2BearerOptions> & { issuers: IssuerOptions[] }) {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'debug', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  await app.register(warden, { scopes: SCOPES })
  await app.register(oauth2Bearer, { now: () => NOW, ...options } as OAuth2BearerOptions)
  app.get('/read', { schema: { security: [{ oauth2: ['users:read'] }] } }, async ({ auth }) => ({ iss: auth?.claims?.iss, sub: auth?.subject }))
  await app.ready()
  t.teardown(() => app.close())
  const call = async (token: string) => await app.inject({ url: '/read', headers: { authorization: `Bearer ${token}` } })
  return { app, lines, call }
}

t.test('outage bookkeeping: issuer C\'s tokens do not announce that issuer A, still down, is back; A\'s outage is one error line', async (t) => {
  // A's JWKS URL on a port nothing listens on: A is down from the start.
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const { lines, call } = await loggedApp(t, {
    prefetch: false,
    issuers: [{ issuer: A, jwksUrl: `http://127.0.0.1:${port}/jwks`, audience: 'https://api.example' }, localIssuers()[1]]
  })
  for (let i = 0; i < 5; i++) {
    t.equal((await call(tokA())).statusCode, 503)
    t.equal((await call(tokC())).statusCode, 200)
  }
  const errors = lines.filter((l) => l.event === 'auth.unavailable' && l.level === 50)
  const back = lines.filter((l) => l.event === 'auth.available')
  t.comment(`error lines: ${errors.length}, "checks credentials again" lines: ${back.length}`)
  t.equal(back.length, 0, 'no recovery is announced while A is down')
  t.equal(errors.length, 1, 'one error line for the outage, not one per alternation')
})

t.test('audit: a refused token of several issuers is logged with its issuer, not its sub alone', async (t) => {
  const revoked = new Set([`${C}|alice`])
  const { lines, call } = await loggedApp(t, { issuers: localIssuers(), isRevoked: (claims) => revoked.has(`${claims.iss}|${claims.sub}`) })
  t.equal((await call(tokC())).statusCode, 401)
  t.equal((await call(tokA())).statusCode, 200)
  const failed = lines.find((l) => l.event === 'auth.failed')
  t.match(failed, { sub: 'alice' })
  t.equal(failed?.iss, C, 'the line says whose alice was refused')
})

t.test('options: what an issuer entry does not take is refused, not silently ignored (isRevoked, clockTolerance per issuer)', async (t) => {
  for (const extra of [{ isRevoked: () => true }, { clockTolerance: 0 }, { verificationKeys: [] }, { resolveUser: () => null }, { requireJti: 'false' }]) {
    const app = Fastify()
    await app.register(warden, { scopes: SCOPES })
    const issuers = [{ ...localIssuers()[0], ...extra }, localIssuers()[1]] as IssuerOptions[]
    let error: unknown
    try {
      await app.register(oauth2Bearer, { issuers, now: () => NOW })
      app.get('/read', { schema: { security: [{ oauth2: ['users:read'] }] } }, async () => 'ok')
      await app.ready()
    } catch (err) { error = err }
    const status = error === undefined ? (await app.inject({ url: '/read', headers: { authorization: `Bearer ${tokA()}` } })).statusCode : undefined
    t.comment(`${Object.keys(extra)[0]}: registration ${error === undefined ? 'accepted' : String(error)}; A's token -> ${status}`)
    t.match(error, { code: 'WARDEN_ERR_OPTION' }, `issuers[0].${Object.keys(extra)[0]} is refused at registration`)
    await app.close()
  }
})

t.test('keys held: a JWK for encryption (use: enc, key_ops without verify) is refused at registration, as a provider\'s key set skips it', async (t) => {
  for (const held of [{ use: 'enc' }, { key_ops: ['encrypt'] }]) {
    await t.rejects(
      async () => await loggedApp(t, { issuers: [{ issuer: A, keys: [{ ...jwk(keyA.publicKey, 'a1', 'ES256'), ...held }], audience: 'https://api.example' }] }),
      { code: 'WARDEN_ERR_KEY', message: /key 'issuers\[0\]\.keys\[0\]': is not a signature key/ },
      JSON.stringify(held)
    )
  }
})

t.test('held: OpenAPI expands an AND requirement per issuer, the other scheme kept in each', async (t) => {
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(openapi, { routePrefix: false })
  await app.register(apiKey, { secret: SECRET, keys: [{ id: 'k', key: generateApiKey().key, subject: 's', scopes: ['users:read'] }] })
  await app.register(oauth2Bearer, { issuers: localIssuers(), now: () => NOW })
  app.get('/both', { schema: { security: [{ oauth2: ['users:read'], apiKey: [] }, { apiKey: ['admin'] }] } }, async () => 'ok')
  await app.ready()
  t.teardown(() => app.close())
  const doc = app.swagger() as { paths: Record<string, { get: { security: unknown } }>, components: { securitySchemes: Record<string, unknown> } }
  t.same(doc.paths['/both'].get.security, [
    { 'oauth2.a.example': ['users:read'], apiKey: [] },
    { 'oauth2.urn_example_partner': ['users:read'], apiKey: [] },
    { apiKey: ['admin'] }
  ])
  t.notOk('oauth2' in doc.components.securitySchemes)
})

t.test('a JWKS whose body stalls after its headers is given up after the timeout (the body is covered, not only the headers)', async (t) => {
  let fetches = 0
  const server = createServer((_req, res) => {
    fetches++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('{"keys":[')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) })
  const { call } = await loggedApp(t, {
    prefetch: false,
    issuers: [{ issuer: A, jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, audience: 'https://api.example', keySet: { timeout: 500 } }, localIssuers()[1]]
  })
  const started = Date.now()
  const res = await Promise.race([call(tokA()), new Promise<null>((resolve) => setTimeout(() => resolve(null), 4000))])
  t.comment(`answered ${res?.statusCode ?? 'nothing'} after ${Date.now() - started} ms, ${fetches} fetches`)
  t.equal(res?.statusCode, 503, 'A\'s token gets a 503')
  t.ok(Date.now() - started < 1000, 'within keySet.timeout')
})

t.test('held: discovery metadata naming another issuer is refused, for that issuer\'s tokens only', async (t) => {
  const jwks = await jwksServer(t, [jwk(keyA.publicKey, 'a1', 'ES256')])
  let metadataFetches = 0
  const meta = createServer((_req, res) => {
    metadataFetches++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ issuer: C, jwks_uri: jwks.url }))
  })
  await new Promise<void>((resolve) => meta.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { meta.closeAllConnections(); await new Promise<void>((resolve) => meta.close(() => resolve())) })
  const metaUrl = `http://127.0.0.1:${(meta.address() as AddressInfo).port}/.well-known/openid-configuration`
  const { call } = await loggedApp(t, {
    prefetch: false,
    issuers: [{ issuer: A, discovery: metaUrl, audience: 'https://api.example' }, localIssuers()[1]]
  })
  t.equal((await call(tokA())).statusCode, 503)
  t.equal((await call(tokC())).statusCode, 200)
  for (let i = 0; i < 10; i++) await call(tokA({}, { kid: `k${i}` }))
  t.equal(jwks.state.fetches, 0, 'the keys of metadata naming another issuer are never fetched')
  t.equal(metadataFetches, 1, 'asked once per cooldown')
})
