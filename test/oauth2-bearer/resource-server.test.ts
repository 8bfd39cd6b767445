import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { createServer, type Server } from 'node:http'
import { generateKeyPairSync } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { warden, oauth2Bearer, type OAuth2BearerOptions } from '../../plugins/index.js'
import { forge, claims } from '../helpers/jwt.js'
import { SCOPES } from '../helpers/schemes.js'

const PROVIDER = 'https://id.test'
const k1 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const k2 = generateKeyPairSync('rsa', { modulusLength: 2048 })
const jwk = (key: typeof k1, kid: string, alg: string) => ({ ...key.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' })

/** A provider's JWKS endpoint on 127.0.0.1 whose keys the test changes. */
async function provider (t: Test) {
  const state = { keys: [jwk(k1, 'k1', 'ES256')] as object[], fetches: 0, status: 200 }
  const server: Server = createServer((_req, res) => {
    state.fetches++
    res.writeHead(state.status, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys: state.keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks` }
}

async function resourceServer (jwksUrl: string, opts: Partial<OAuth2BearerOptions> = {}) {
  let now = Date.now()
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(oauth2Bearer, { jwksUrl, issuer: PROVIDER, audience: 'https://api.test', now: () => now, ...opts })
  app.get('/r', { schema: { security: [{ oauth2: ['users:read'] }] } }, async (req) => req.auth)
  await app.ready()
  const call = async (token: string) => await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })
  return {
    app,
    call,
    tick: (ms: number) => {
      now += ms
    },
    now: () => now
  }
}

t.test('tokens of an external provider are verified with its JWKS; rotation refetches', async (t) => {
  const { state, url } = await provider(t)
  const { call, tick, now } = await resourceServer(url)
  const es = forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(now()), k1.privateKey)
  const ok = await call(es)
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { scheme: 'oauth2', subject: 'user-1', scopes: ['users:read'] })
  t.equal(state.fetches, 1)
  t.equal((await call(es)).statusCode, 200)
  t.equal(state.fetches, 1, 'keys are cached')

  state.keys = [jwk(k1, 'k1', 'ES256'), jwk(k2 as never, 'k2', 'RS256')]
  tick(31_000)
  const rs = forge({ alg: 'RS256', typ: 'at+jwt', kid: 'k2' }, claims(now()), k2.privateKey)
  t.equal((await call(rs)).statusCode, 200, 'a new kid triggers a refetch')
  t.equal(state.fetches, 2)
})

t.test('made-up kids cause at most one fetch per cooldown', async (t) => {
  const { state, url } = await provider(t)
  const { call, now } = await resourceServer(url)
  t.equal((await call(forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(now()), k1.privateKey))).statusCode, 200)
  for (let i = 0; i < 20; i++) {
    const res = await call(forge({ alg: 'ES256', typ: 'at+jwt', kid: `forged-${i}` }, claims(now()), k1.privateKey))
    t.equal(res.statusCode, 401)
  }
  t.equal(state.fetches, 1)
})

t.test('a provider outage is a 503 with Retry-After, not a 401 that sends clients back to log in; the last good keys are kept', async (t) => {
  const { state, url } = await provider(t)
  state.status = 503
  const { call, tick, now } = await resourceServer(url)
  const token = forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(now()), k1.privateKey)
  const down = await call(token)
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '5')
  t.notOk(down.headers['www-authenticate'], 'the credential is not blamed')
  state.status = 200
  tick(31_000)
  t.equal((await call(forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(now()), k1.privateKey))).statusCode, 200)
  state.status = 500
  tick(11 * 60_000)
  t.equal(
    (await call(forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(now()), k1.privateKey))).statusCode,
    200,
    'stale keys still verify while the provider is down'
  )
})

t.test('a JWKS with no usable key verifies nothing: the service cannot check, 503', async (t) => {
  const { state, url } = await provider(t)
  state.keys = [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }, { ...jwk(k1, 'enc', 'ES256'), use: 'enc' }, { ...jwk(k1, 'mismatch', 'RS256') }]
  const { call, now } = await resourceServer(url)
  t.equal((await call(forge({ alg: 'ES256', typ: 'at+jwt', kid: 'enc' }, claims(now()), k1.privateKey))).statusCode, 503)
})

t.test('tokenTypes admits providers that send typ JWT; resource servers cannot sign', async (t) => {
  const { url } = await provider(t)
  const { app, call, now } = await resourceServer(url, { tokenTypes: ['JWT', 'at+jwt'] })
  t.equal((await call(forge({ alg: 'ES256', typ: 'JWT', kid: 'k1' }, claims(now()), k1.privateKey))).statusCode, 200)
  t.throws(() => app.accessTokens.sign({ sub: 'u' }), { code: 'WARDEN_ERR_SIGN' })
  t.same(app.accessTokens.jwks(), { keys: [] })
})

t.test('PS256, as FAPI profiles require, and ES384 from the provider; a JWK alg narrows its key', async (t) => {
  const { state, url } = await provider(t)
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  state.keys = [jwk(k2 as never, 'ps', 'PS256'), jwk(p384 as never, 'es', 'ES384')]
  const { call, now } = await resourceServer(url)
  t.equal((await call(forge({ alg: 'PS256', typ: 'at+jwt', kid: 'ps' }, claims(now()), k2.privateKey))).statusCode, 200, 'PS256')
  t.equal((await call(forge({ alg: 'ES384', typ: 'at+jwt', kid: 'es' }, claims(now()), p384.privateKey))).statusCode, 200, 'ES384')
  t.equal((await call(forge({ alg: 'RS256', typ: 'at+jwt', kid: 'ps' }, claims(now()), k2.privateKey))).statusCode, 401, 'the PS256 key does not verify RS256')
  const strict = await resourceServer(url, { algorithms: ['ES384'] })
  t.equal(
    (await strict.call(forge({ alg: 'PS256', typ: 'at+jwt', kid: 'ps' }, claims(strict.now()), k2.privateKey))).statusCode,
    401,
    'outside the explicit allow-list'
  )
})

/** A provider with OpenID Connect Discovery metadata and a JWKS, on 127.0.0.1. */
async function discoverable (t: Test, metadata: (base: string) => Record<string, unknown> | null) {
  const state = { keys: [jwk(k1, 'k1', 'ES256')] as object[], requests: [] as string[] }
  let base = ''
  const server: Server = createServer((req, res) => {
    state.requests.push(req.url ?? '')
    if (req.url === '/jwks') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }))
    const doc = req.url === '/.well-known/openid-configuration' ? metadata(base) : null
    if (doc === null) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { state, base }
}

t.test('discovery: issuer → openid-configuration → jwks_uri, fetched at start-up; the document shows openIdConnect', async (t) => {
  const { state, base } = await discoverable(t, (b) => ({ issuer: b, jwks_uri: `${b}/jwks`, authorization_endpoint: `${b}/auth` }))
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  const { openapi } = await import('../../plugins/index.js')
  await app.register(openapi, { routePrefix: false })
  await app.register(oauth2Bearer, { discovery: true, issuer: base, audience: 'account' })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  await app.ready()
  t.same(state.requests, ['/.well-known/openid-configuration', '/jwks'], 'metadata and keys fetched while the app starts')
  const token = forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(Date.now(), { iss: base, aud: 'account' }), k1.privateKey)
  t.equal((await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode, 200, "a non-URL audience such as Keycloak's account")
  t.same(
    (app.swagger() as { components: { securitySchemes: Record<string, unknown> } }).components.securitySchemes.oauth2,
    {
      type: 'openIdConnect',
      openIdConnectUrl: `${base}/.well-known/openid-configuration`,
      description: 'Tokens of the OpenID provider; send the access token as `Authorization: Bearer <token>`.'
    },
    'no password flow whose token URL does not exist here'
  )
  await app.close()
})

t.test('discovery: metadata naming another issuer is refused (exact match), and the keys can be required at start-up', async (t) => {
  const { base } = await discoverable(t, () => ({ issuer: 'https://evil.example', jwks_uri: 'https://evil.example/jwks' }))
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(oauth2Bearer, { discovery: true, issuer: base, audience: 'api', prefetch: 'required' })
  await t.rejects(
    (async () => {
      await app.ready()
    })(),
    { code: 'WARDEN_ERR_JWKS', message: /names issuer 'https:\/\/evil\.example', not 'http:\/\/127\.0\.0\.1:\d+'/ }
  )
  await app.close()
  const lenient = Fastify()
  await lenient.register(warden, { scopes: SCOPES })
  await lenient.register(oauth2Bearer, { discovery: true, issuer: base, audience: 'api' })
  lenient.get('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'x')
  await lenient.ready()
  const res = await lenient.inject({
    url: '/r',
    headers: { authorization: `Bearer ${forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(Date.now(), { iss: base, aud: 'api' }), k1.privateKey)}` }
  })
  t.equal(res.statusCode, 503, 'no trusted keys: the service cannot check, it does not let in')
  await lenient.close()
})

t.test("real providers' tokens: no typ (Okta), no jti (Entra ID), several audiences, scope lists, scp, Keycloak roles", async (t) => {
  const { url } = await provider(t)
  const make = (header: Record<string, unknown>, extra: Record<string, unknown>, now: number) =>
    forge({ alg: 'ES256', kid: 'k1', ...header }, claims(now, extra), k1.privateKey)
  const strict = await resourceServer(url)
  t.equal((await strict.call(make({}, {}, strict.now()))).statusCode, 401, 'no typ: refused by default (RFC 8725 explicit typing)')
  t.equal((await strict.call(make({ typ: 'at+jwt' }, { jti: undefined }, strict.now()))).statusCode, 401, 'no jti: refused by default')

  const okta = await resourceServer(url, { tokenTypes: ['at+jwt', 'jwt', null], requireJti: false, audience: ['https://api.test', 'api://default'] })
  t.equal((await okta.call(make({}, { aud: 'api://default' }, okta.now()))).statusCode, 200, 'no typ, when null is among tokenTypes; the second audience')
  t.equal((await okta.call(make({ typ: 'JWT' }, { jti: undefined }, okta.now()))).statusCode, 200, 'no jti, when requireJti is false')
  t.equal((await okta.call(make({ typ: 'JWT' }, { aud: 'someone-else' }, okta.now()))).statusCode, 401, 'an audience not listed')
  const scopesOf = async (server: typeof okta, extra: Record<string, unknown>) =>
    (await server.call(make({ typ: 'JWT' }, { scope: undefined, ...extra }, server.now()))).json()?.scopes
  t.same(await scopesOf(okta, { scope: ['users:read', 'openid'] }), ['users:read'], 'a scope list; undeclared scopes dropped')
  t.same(await scopesOf(okta, { scp: 'users:read profile' }), ['users:read'], 'scp as a string (Okta)')
  t.same(await scopesOf(okta, { scp: ['users:read'] }), ['users:read'], 'scp as a list (Entra ID)')

  const keycloak = await resourceServer(url, {
    tokenTypes: ['jwt'],
    audience: 'account',
    claimScopes: (c) => (c.realm_access as { roles?: string[] } | undefined)?.roles ?? []
  })
  const kc = await keycloak.call(
    make({ typ: 'JWT' }, { aud: 'account', scope: 'openid email', realm_access: { roles: ['users:read', 'offline_access'] } }, keycloak.now())
  )
  t.equal(kc.statusCode, 200)
  t.same(kc.json().scopes, ['users:read'], 'roles mapped to scopes by claimScopes')
})

t.test("a resource server documents an HTTP bearer JWT unless told the provider's flows", async (t) => {
  const { url } = await provider(t)
  const { openapi } = await import('../../plugins/index.js')
  const documented = async (opts: Partial<OAuth2BearerOptions>) => {
    const app = Fastify()
    await app.register(warden, { scopes: SCOPES })
    await app.register(openapi, { routePrefix: false })
    await app.register(oauth2Bearer, { jwksUrl: url, issuer: PROVIDER, audience: 'api', ...opts })
    await app.ready()
    const scheme = (app.swagger() as { components: { securitySchemes: Record<string, unknown> } }).components.securitySchemes.oauth2
    await app.close()
    return scheme
  }
  t.match(await documented({}), { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  const flows = {
    authorizationCode: { authorizationUrl: 'https://id.example/authorize', tokenUrl: 'https://id.example/token', scopes: { 'users:read': 'Read users' } }
  }
  t.match(await documented({ documentation: { flows } }), { type: 'oauth2', flows })
})

t.test('the key set cooldown and timeout are options', async (t) => {
  const { state, url } = await provider(t)
  const { call, tick, now } = await resourceServer(url, { keySet: { cooldown: 2_000, timeout: 1_000 } })
  t.equal(state.fetches, 1, 'fetched at start-up')
  t.equal((await call(forge({ alg: 'ES256', typ: 'at+jwt', kid: 'new' }, claims(now()), k1.privateKey))).statusCode, 401)
  tick(2_100)
  await call(forge({ alg: 'ES256', typ: 'at+jwt', kid: 'newer' }, claims(now()), k1.privateKey))
  t.equal(state.fetches, 2, 'an unknown kid refetches once the shorter cooldown has passed')
  await t.rejects(resourceServer(url, { keySet: { timeout: 5 } }), {
    code: 'WARDEN_ERR_OPTION',
    message: /option 'keySet.timeout' must be an integer from 100/
  })
})
