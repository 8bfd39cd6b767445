import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { createServer, type Server } from 'node:http'
import { generateKeyPairSync } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { warden, oauth2Bearer, type OAuth2BearerOptions } from '../../plugins/index.js'
import { forge, claims } from '../helpers/jwt.js'
import { SCOPES } from '../helpers/app.js'

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
  return { app, call, tick: (ms: number) => { now += ms }, now: () => now }
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
  t.equal((await call(forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims(now()), k1.privateKey))).statusCode, 200, 'stale keys still verify while the provider is down')
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
  t.equal((await strict.call(forge({ alg: 'PS256', typ: 'at+jwt', kid: 'ps' }, claims(strict.now()), k2.privateKey))).statusCode, 401, 'outside the explicit allow-list')
})
