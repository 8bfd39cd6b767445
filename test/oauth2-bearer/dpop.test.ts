import t from 'tap'
import { Redis } from 'ioredis'
import { schemesApp } from '../helpers/schemes.js'
import { proofKey } from '../helpers/dpop.js'
import { redisSkip, REDIS_URL } from '../helpers/services.js'
import { serverClient, startRedisServer, redisServerSkip } from '../helpers/redis-servers.js'
import { redisDpopReplay } from '../../stores/index.js'
import Fastify from 'fastify'
import { warden, oauth2Bearer, memoryDpopReplay, type OAuth2BearerOptions } from '../../plugins/index.js'
import { SECRET, ISSUER, AUDIENCE } from '../helpers/keys.js'

// RFC 9449 at the resource server: a bound token is accepted only with a fresh proof of its key,
// for this request; each route takes DPoP as it declares ('x-dpop'), else as the scheme does.

const HTU = 'http://localhost:80'
const ALGS = 'ES256 ES384 ES512 EdDSA PS256 PS384 PS512 RS256 RS384 RS512'

async function dpopApp (dpop: OAuth2BearerOptions['dpop'] = true, extra: Partial<OAuth2BearerOptions> = {}) {
  // Proofs are signed on the real clock: the scheme's clock is the real one here.
  const fixture = await schemesApp({ clock: Date.now, bearer: { dpop, ...extra } })
  const { app } = fixture
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => ({ subject: req.auth?.subject }))
  app.get('/strict', { schema: { security: [{ oauth2: [] }], 'x-dpop': 'required' } }, async () => 'ok')
  app.get('/legacy', { schema: { security: [{ oauth2: [] }], 'x-dpop': 'off' } }, async () => 'ok')
  app.post('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'posted')
  await app.ready()
  const key = await proofKey()
  const bound = fixture.token([], { cnf: { jkt: key.jkt } })
  return { ...fixture, key, bound }
}

t.test('a bound token with a proof of its key, for this request, passes; the same proof again is a replay', async (t) => {
  const { app, key, bound } = await dpopApp()
  const proof = await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound })
  const call = async () => await app.inject({ url: '/r?page=2', headers: { authorization: `DPoP ${bound}`, dpop: proof } })
  const first = await call()
  t.equal(first.statusCode, 200)
  t.same(first.json(), { subject: 'user-1' })
  const again = await call()
  t.equal(again.statusCode, 401)
  t.equal(
    again.headers['www-authenticate'],
    'Bearer realm="api", error="invalid_dpop_proof", error_description="The DPoP proof is invalid.", ' +
      `DPoP realm="api", algs="${ALGS}", error="invalid_dpop_proof", error_description="The DPoP proof is invalid."`
  )
  t.equal(again.json().detail, 'The DPoP proof is invalid.')
})

t.test('what a thief or a sloppy client sends is refused, each with the error that says why', async (t) => {
  const { app, key, bound, token } = await dpopApp()
  const other = await proofKey()
  const call = async (authorization: string, dpop?: string, url = '/r', method: 'GET' | 'POST' = 'GET') =>
    await app.inject({ method, url, headers: { authorization, ...(dpop === undefined ? {} : { dpop }) } })
  const errorOf = (res: { headers: Record<string, unknown> }) => /error="([a-z_]+)"/.exec(String(res.headers['www-authenticate']))?.[1]
  const cases: Array<[string, () => Promise<{ statusCode: number; headers: Record<string, unknown> }>, string]> = [
    ['a bound token sent as Bearer', async () => await call(`Bearer ${bound}`), 'invalid_token'],
    ['a bound token without a proof', async () => await call(`DPoP ${bound}`), 'invalid_dpop_proof'],
    [
      "a proof of another key (the thief's)",
      async () => await call(`DPoP ${bound}`, await other.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound })),
      'invalid_dpop_proof'
    ],
    [
      'a proof for another URL',
      async () => await call(`DPoP ${bound}`, await key.proof({ htm: 'GET', htu: `${HTU}/strict`, token: bound })),
      'invalid_dpop_proof'
    ],
    [
      'a proof for another method',
      async () => await call(`DPoP ${bound}`, await key.proof({ htm: 'POST', htu: `${HTU}/r`, token: bound })),
      'invalid_dpop_proof'
    ],
    [
      'a proof for another token',
      async () => await call(`DPoP ${bound}`, await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: token() })),
      'invalid_dpop_proof'
    ],
    [
      'an expired proof',
      async () => await call(`DPoP ${bound}`, await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound, iat: Math.floor(Date.now() / 1000) - 600 })),
      'invalid_dpop_proof'
    ],
    [
      'a proof carrying its private key',
      async () => await call(`DPoP ${bound}`, await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound }, { jwk: { ...key.jwk, d: 'AAAA' } })),
      'invalid_dpop_proof'
    ],
    [
      'an unbound token sent with DPoP',
      async () => await call(`DPoP ${token()}`, await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: token() })),
      'invalid_token'
    ],
    [
      'two DPoP headers',
      async () => {
        const proof = await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound })
        return await app.inject({ url: '/r', headers: { authorization: `DPoP ${bound}`, dpop: [proof, proof] } })
      },
      'invalid_dpop_proof'
    ]
  ]
  for (const [name, send, error] of cases) {
    const res = await send()
    t.equal(res.statusCode, 401, name)
    t.equal(errorOf(res), error, name)
  }
  t.equal((await call(`Bearer ${token()}`)).statusCode, 200, 'an unbound bearer token, where DPoP is allowed')
  t.equal(
    (await call(`DPoP ${bound}`, await key.proof({ htm: 'POST', htu: `${HTU}/r`, token: bound }), '/r', 'POST')).statusCode,
    200,
    'POST with a POST proof'
  )
})

t.test('each route takes DPoP as it declares, and its challenge says so', async (t) => {
  const { app, key, bound, token } = await dpopApp()
  const challenge = async (url: string) => (await app.inject({ url })).headers['www-authenticate']
  t.equal(await challenge('/r'), `Bearer realm="api", DPoP realm="api", algs="${ALGS}"`)
  t.equal(await challenge('/strict'), `DPoP realm="api", algs="${ALGS}"`)
  t.equal(await challenge('/legacy'), 'Bearer realm="api"')

  const bearerOnStrict = await app.inject({ url: '/strict', headers: { authorization: `Bearer ${token()}` } })
  t.equal(bearerOnStrict.statusCode, 401, 'a bearer token where DPoP is required')
  t.equal(bearerOnStrict.headers['www-authenticate'], `DPoP realm="api", algs="${ALGS}", error="invalid_token"`)
  const strict = await app.inject({
    url: '/strict',
    headers: { authorization: `DPoP ${bound}`, dpop: await key.proof({ htm: 'GET', htu: `${HTU}/strict`, token: bound }) }
  })
  t.equal(strict.statusCode, 200)

  t.equal((await app.inject({ url: '/legacy', headers: { authorization: `Bearer ${token()}` } })).statusCode, 200)
  t.equal((await app.inject({ url: '/legacy', headers: { authorization: `Bearer ${bound}` } })).statusCode, 401, 'off: a bound token is still bound')
  const dpopOnLegacy = await app.inject({
    url: '/legacy',
    headers: { authorization: `DPoP ${bound}`, dpop: await key.proof({ htm: 'GET', htu: `${HTU}/legacy`, token: bound }) }
  })
  t.equal(dpopOnLegacy.statusCode, 401, "off: the DPoP scheme is not this route's")
  t.equal(dpopOnLegacy.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('a scheme without dpop: a route asking for it stops the app; its challenges are unchanged', async (t) => {
  const { app } = await schemesApp()
  app.get('/strict', { schema: { security: [{ oauth2: [] }], 'x-dpop': 'required' } }, async () => 'ok')
  await t.rejects(
    async () => {
      await app.ready()
    },
    { code: 'WARDEN_ERR_OPTION', message: /dpop.*scheme 'oauth2'/ }
  )
  const plain = await schemesApp()
  plain.app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  t.equal((await plain.app.inject({ url: '/r' })).headers['www-authenticate'], 'Bearer realm="api"')
  t.equal((await plain.app.inject({ url: '/r', headers: { authorization: 'DPoP abc' } })).statusCode, 401)
})

t.test('server nonces: a proof without the current nonce gets use_dpop_nonce and the nonce; with it, 200', async (t) => {
  const { app, key, bound } = await dpopApp({ nonce: { secret: 'n'.repeat(32) } })
  const first = await app.inject({
    url: '/r',
    headers: { authorization: `DPoP ${bound}`, dpop: await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound }) }
  })
  t.equal(first.statusCode, 401)
  t.match(first.headers['www-authenticate'], /DPoP realm="api", algs="[^"]+", error="use_dpop_nonce"/)
  const nonce = first.headers['dpop-nonce'] as string
  t.match(nonce, /^[\x21\x23-\x5b\x5d-\x7e]+$/, 'an RFC 9449 NQCHAR nonce')
  const second = await app.inject({
    url: '/r',
    headers: { authorization: `DPoP ${bound}`, dpop: await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound, nonce }) }
  })
  t.equal(second.statusCode, 200)
  const forged = await app.inject({
    url: '/r',
    headers: { authorization: `DPoP ${bound}`, dpop: await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound, nonce: nonce.slice(0, -2) + 'AA' }) }
  })
  t.equal(forged.statusCode, 401)
})

t.test('20 requests in flight with one proof: exactly one is served (cached token or not)', async (t) => {
  for (const cache of [false, { max: 100 }] as const) {
    const { app, key, bound } = await dpopApp(true, { cache })
    const proof = await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound })
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () => (await app.inject({ url: '/r', headers: { authorization: `DPoP ${bound}`, dpop: proof } })).statusCode)
    )
    t.equal(statuses.filter((s) => s === 200).length, 1, `cache ${JSON.stringify(cache)}`)
    t.equal(statuses.filter((s) => s === 401).length, 19)
  }
})

t.test('resource metadata advertises the proof algorithms and whether bound tokens are required', async (t) => {
  const { app } = await dpopApp({ mode: 'required', algorithms: ['ES256', 'EdDSA'] }, { resourceMetadata: { resource: 'https://api.example' } })
  const metadata = (await app.inject({ url: '/.well-known/oauth-protected-resource' })).json()
  t.same(metadata.dpop_signing_alg_values_supported, ['ES256', 'EdDSA'])
  t.equal(metadata.dpop_bound_access_tokens_required, true)
  t.equal(
    (await app.inject({ url: '/r' })).headers['www-authenticate'],
    'DPoP realm="api", resource_metadata="https://api.example/.well-known/oauth-protected-resource", algs="ES256 EdDSA"'
  )
})

t.test('dpop options are checked at registration, naming the option', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ mode: 'always' }, /dpop.mode/],
    [{ algorithms: ['HS256'] }, /dpop.algorithms/],
    [{ algorithms: [] }, /dpop.algorithms/],
    [{ proofLifetime: 0 }, /dpop.proofLifetime/],
    [{ replay: {} }, /dpop.replay/],
    [{ nonce: 'yes' }, /dpop.nonce/],
    [{ nonce: { secret: 'short' } }, /dpop.nonce.secret/],
    ['on', /dpop/]
  ]
  for (const [dpop, message] of cases) {
    await t.rejects(
      async () => await schemesApp({ bearer: { dpop } as Partial<OAuth2BearerOptions> }),
      { code: 'WARDEN_ERR_OPTION', message },
      JSON.stringify(dpop)
    )
  }
})

t.test('replays across instances through Redis: one proof, two instances, one success', { skip: await redisSkip() }, async (t) => {
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.quit())
  const replay = redisDpopReplay(redis, { prefix: `warden-test:${process.pid}:dpop:` })
  const a = await dpopApp({ replay })
  const b = await schemesApp({ clock: Date.now, bearer: { dpop: { replay } } })
  b.app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'b')
  const proof = await a.key.proof({ htm: 'GET', htu: `${HTU}/r`, token: a.bound })
  const send = async (app: typeof a.app) => (await app.inject({ url: '/r', headers: { authorization: `DPoP ${a.bound}`, dpop: proof } })).statusCode
  const statuses = await Promise.all([send(a.app), send(b.app), send(a.app), send(b.app)])
  t.same(statuses.filter((s) => s === 200).length, 1)
})

t.test('Redis down: DPoP requests fail closed with 503, bearer requests go on', { skip: await redisServerSkip() }, async (t) => {
  const server = await startRedisServer(t)
  const redis = await serverClient(t, server, 500)
  const { app, key, bound, token } = await dpopApp({ replay: redisDpopReplay(redis) })
  const proof = async () => await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound })
  t.equal((await app.inject({ url: '/r', headers: { authorization: `DPoP ${bound}`, dpop: await proof() } })).statusCode, 200)
  await server.stop()
  const down = await app.inject({ url: '/r', headers: { authorization: `DPoP ${bound}`, dpop: await proof() } })
  t.equal(down.statusCode, 503)
  t.ok(down.headers['retry-after'])
  t.equal((await app.inject({ url: '/r', headers: { authorization: `Bearer ${token()}` } })).statusCode, 200, 'bearer tokens need no replay cache')
})

t.test('the replay cache\'s outage is its own: one error line, no recovery announced by bearer requests, one when a proof is checked again', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  let down = true
  const memory = memoryDpopReplay()
  const replay = { firstUse: async (key: string, at: number) => { if (down) throw new Error('redis down'); return await memory.firstUse(key, at) } }
  const { app, token } = await schemesApp({
    clock: Date.now,
    bearer: { dpop: { replay } },
    fastify: { logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } }
  })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  await app.ready()
  const key = await proofKey()
  const bound = token([], { cnf: { jkt: key.jkt } })
  const call = async (authorization: string, dpop?: string) =>
    (await app.inject({ url: '/r', headers: { authorization, ...(dpop === undefined ? {} : { dpop }) } })).statusCode
  for (let i = 0; i < 3; i++) {
    t.equal(await call(`DPoP ${bound}`, await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound })), 503)
    t.equal(await call(`Bearer ${token()}`), 200)
  }
  const events = (event: string) => lines.filter((l) => l.event === event)
  t.match(events('auth.unavailable'), [{ level: 50, scheme: 'oauth2', dependency: 'DPoP replay cache', err: { message: 'redis down' } }], 'one error line')
  t.same(events('auth.available'), [], 'bearer requests never touched it')
  down = false
  t.equal(await call(`DPoP ${bound}`, await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound })), 200)
  t.match(events('auth.available'), [{ scheme: 'oauth2', dependency: 'DPoP replay cache', down_ms: Number }], 'back once a proof was checked')
})

t.test('refusals are logged as auth.failed with why; a nonce to use is not a refusal', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  await app.register(warden, { scopes: { read: 'Read' } })
  await app.register(oauth2Bearer, { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, dpop: { nonce: true } })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  await app.ready()
  const key = await proofKey()
  const bound = app.accessTokens.sign({ sub: 'user-1', cnf: { jkt: key.jkt } }).token
  const proof = await key.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound })
  const first = await app.inject({ url: '/r', headers: { authorization: `DPoP ${bound}`, dpop: proof } })
  t.equal(first.statusCode, 401)
  t.notOk(lines.some((l) => l.event === 'auth.failed'), 'the nonce challenge is no failure')
  const other = await proofKey()
  const nonce = first.headers['dpop-nonce'] as string
  const stolen = await other.proof({ htm: 'GET', htu: `${HTU}/r`, token: bound, nonce })
  await app.inject({ url: '/r', headers: { authorization: `DPoP ${bound}`, dpop: stolen } })
  t.match(lines.find((l) => l.event === 'auth.failed'), { scheme: 'oauth2', reason: 'dpop', sub: 'user-1' })
  t.notOk(JSON.stringify(lines).includes(bound), 'no token in the log')
})
