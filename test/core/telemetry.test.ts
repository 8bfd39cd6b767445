import t from 'tap'
import Fastify from 'fastify'
import formbody from '@fastify/formbody'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { context, metrics, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { UserGrant } from '../../plugins/index.js'
import { Availability } from '../../plugins/core/availability.js'
import { loadTelemetry } from '../../plugins/core/telemetry.js'
import { plugins } from '../helpers/subject.js'
import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { RevocationList, migrateWarden, sqlRevocationStore } from '../../stores/index.js'
import { REDIS_URL, closeSharedDatabase, redisSkip, testDatabase } from '../helpers/services.js'
import { SECRET, ed25519 } from '../helpers/keys.js'
import { createServer } from 'node:http'
import { createPublicKey } from 'node:crypto'
import { remoteKeySet } from '../../plugins/oauth2-bearer/remote-keys.js'

t.teardown(closeSharedDatabase)
const { warden, oauth2Bearer, oauth2Server, apiKey, basicAuth, createPasswordHasher, generateApiKey } = plugins

// The SDK as a user's app registers it, before the app is built; in-memory reader and exporters.
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 })
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
const spans = new InMemorySpanExporter()
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }))

const hasher = createPasswordHasher({ memoryCost: 1024, timeCost: 1 })
const ADA = await hasher.hash('ada password 1')
const verifyUser = async (username: string, password: string): Promise<UserGrant | null> =>
  (await hasher.verify(username === 'ada' ? ADA : undefined, password)) ? { subject: 'u-ada', scopes: ['notes:read'] } : null
const failing = generateApiKey()

const app = Fastify()
await app.register(formbody)
await app.register(warden, { scopes: { 'notes:read': 'Read notes', 'notes:write': 'Write notes' } })
await app.register(oauth2Bearer, { secret: SECRET, issuer: 'https://notes.example', audience: 'https://notes.example', tokenUrl: '/token' })
await app.register(oauth2Server, { verifyUser, tokenPath: '/token', lockout: { threshold: 2, baseDelay: 60_000, maxDelay: 60_000, memory: 60_000 } })
await app.register(apiKey, {
  secret: SECRET,
  lookup: async () => {
    throw new Error('key store down')
  }
})
await app.register(basicAuth, { verify: async (username, password, request) => await app.oauth2Server.login(username, password, request) })
app.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }, { apiKey: ['notes:read'] }, { basic: ['notes:read'] }] } }, async () => ({ ok: true }))
app.get('/drafts', { schema: { security: [{ oauth2: ['notes:write'] }] } }, async () => ({ ok: true }))
t.teardown(() => app.close())
await app.ready()

const token = async (username: string, password: string): Promise<{ statusCode: number; token?: string }> => {
  const res = await app.inject({
    method: 'POST',
    url: '/token',
    payload: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  return { statusCode: res.statusCode, token: res.json().access_token }
}

/** Every data point of the named metric, as [attributes, value]. */
async function points (name: string): Promise<Array<[Record<string, unknown>, number]>> {
  await reader.forceFlush()
  const batches: ResourceMetrics[] = metricExporter.getMetrics()
  const last = batches[batches.length - 1]
  const metric = last.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)
  return (metric?.dataPoints ?? []).map((p) => [p.attributes, typeof p.value === 'number' ? p.value : (p.value as { count: number }).count])
}
const valueOf = (all: Array<[Record<string, unknown>, number]>, attributes: Record<string, unknown>): number =>
  all.filter(([a]) => Object.entries(attributes).every(([k, v]) => a[k] === v)).reduce((sum, [, v]) => sum + v, 0)

t.test('authentication outcomes by scheme and reason class, logins and lockouts, and a span per authentication without the credential', async (t) => {
  const good = await token('ada', 'ada password 1')
  t.equal(good.statusCode, 200)
  const bearer = { authorization: `Bearer ${good.token!}` }
  const basicWrong = { authorization: 'Basic ' + Buffer.from('ada:wrong password').toString('base64') }
  spans.reset()
  t.equal((await app.inject({ url: '/notes', headers: bearer })).statusCode, 200)
  t.equal((await app.inject({ url: '/notes', headers: bearer })).statusCode, 200)
  t.equal((await app.inject({ url: '/drafts', headers: bearer })).statusCode, 403)
  t.equal((await app.inject({ url: '/drafts' })).statusCode, 401)
  t.equal((await app.inject({ url: '/drafts', headers: { authorization: 'Bearer not.a.token' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/notes', headers: { 'x-api-key': failing.key } })).statusCode, 503)
  t.same(
    [(await app.inject({ url: '/notes', headers: basicWrong })).statusCode, (await app.inject({ url: '/notes', headers: basicWrong })).statusCode],
    [401, 401]
  )
  t.equal((await app.inject({ url: '/notes', headers: basicWrong })).statusCode, 429, 'locked after two failures')

  const auth = await points('warden.authentications')
  t.equal(valueOf(auth, { 'warden.scheme': 'oauth2', 'warden.outcome': 'success' }), 2)
  t.equal(valueOf(auth, { 'warden.scheme': 'oauth2', 'warden.outcome': 'insufficient_scope' }), 1)
  t.equal(valueOf(auth, { 'warden.scheme': 'none', 'warden.outcome': 'missing' }), 1)
  t.equal(valueOf(auth, { 'warden.scheme': 'oauth2', 'warden.outcome': 'invalid' }), 1)
  t.equal(valueOf(auth, { 'warden.scheme': 'apiKey', 'warden.outcome': 'unavailable' }), 1)
  t.equal(valueOf(auth, { 'warden.scheme': 'basic', 'warden.outcome': 'invalid' }), 2)
  t.equal(valueOf(auth, { 'warden.scheme': 'basic', 'warden.outcome': 'throttled' }), 1)

  const logins = await points('warden.logins')
  t.equal(valueOf(logins, { 'warden.outcome': 'succeeded' }), 1)
  t.equal(valueOf(logins, { 'warden.outcome': 'failed' }), 2)
  t.equal(valueOf(logins, { 'warden.outcome': 'locked' }), 1)
  t.equal(valueOf(await points('warden.lockouts'), {}), 1, 'the second failure started the lock')
  t.same((await points('warden.password_hashing.load')).map(([a]) => a['warden.state']).sort(), ['queued', 'running'])

  const finished = spans.getFinishedSpans().filter((s) => s.name === 'warden.authenticate')
  t.equal(finished.length, 9, 'one span per guarded request')
  t.same(
    finished.map((s) => [s.attributes['warden.scheme'], s.attributes['warden.outcome']]),
    [
      ['oauth2', 'success'],
      ['oauth2', 'success'],
      ['oauth2', 'insufficient_scope'],
      ['none', 'missing'],
      ['oauth2', 'invalid'],
      ['apiKey', 'unavailable'],
      ['basic', 'invalid'],
      ['basic', 'invalid'],
      ['basic', 'throttled']
    ]
  )
  t.equal(finished[5].status.code, 2, 'a dependency down is an error span; a refused caller is not')
  t.equal(finished[2].status.code, 0)
  const exported = JSON.stringify([
    finished.map((s) => s.attributes),
    metricExporter.getMetrics().map((m) => m.scopeMetrics.map((s) => s.metrics.map((x) => x.dataPoints.map((p) => p.attributes))))
  ])
  for (const secret of [good.token!, 'wrong password', failing.key, 'ada password 1']) t.notOk(exported.includes(secret), 'no credential in a span or a metric')
})

t.test("with @fastify/otel, the authentication span belongs to the request's trace", async (t) => {
  const instrumentation = new FastifyOtelInstrumentation()
  const traced = Fastify()
  await traced.register(instrumentation.plugin())
  await traced.register(warden, { scopes: { 'notes:read': 'Read notes' } })
  await traced.register(oauth2Bearer, { secret: SECRET, issuer: 'https://notes.example', audience: 'https://notes.example', tokenUrl: '/token' })
  traced.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }] } }, async () => ({ ok: true }))
  t.teardown(() => traced.close())
  spans.reset()
  t.equal((await traced.inject({ url: '/notes' })).statusCode, 401)
  const finished = spans.getFinishedSpans()
  const authentication = finished.find((s) => s.name === 'warden.authenticate')!
  const request = finished.find((s) => s.attributes['http.request.method'] === 'GET' && s.parentSpanContext === undefined)
  t.ok(request, `a request span (${finished.map((s) => s.name).join(', ')})`)
  t.equal(authentication.spanContext().traceId, request!.spanContext().traceId, 'one trace')
  const byId = new Map(finished.map((s) => [s.spanContext().spanId, s]))
  let ancestor = authentication.parentSpanContext?.spanId
  while (ancestor !== undefined && ancestor !== request!.spanContext().spanId) ancestor = byId.get(ancestor)?.parentSpanContext?.spanId
  t.equal(ancestor, request!.spanContext().spanId, 'under the request span')
})

t.test('dependency availability as a gauge, following the state changes', async (t) => {
  const redis = new Availability('Redis', { warn () {}, info () {} })
  t.equal(valueOf(await points('warden.dependency.available'), { 'warden.dependency': 'Redis' }), 1)
  redis.failed(new Error('connect ECONNREFUSED'))
  t.equal(valueOf(await points('warden.dependency.available'), { 'warden.dependency': 'Redis' }), 0)
  redis.succeeded()
  t.equal(valueOf(await points('warden.dependency.available'), { 'warden.dependency': 'Redis' }), 1)
})

t.test('provider key-set fetches by outcome, and the age of the keys in use', async (t) => {
  const { publicKey } = ed25519()
  const jwk = { ...createPublicKey(publicKey).export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'EdDSA' }
  let up = true
  const provider = createServer((_req, res) => {
    res.writeHead(up ? 200 : 500, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))
  })
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve))
  t.teardown(() => provider.close())
  const url = `http://127.0.0.1:${(provider.address() as { port: number }).port}/jwks`
  const keys = remoteKeySet(`${url}?key=also-secret`)
  await keys.load()
  up = false
  await t.rejects(keys.load())
  const fetches = await points('warden.jwks.fetches')
  t.equal(valueOf(fetches, { 'url.full': url, 'warden.outcome': 'ok' }), 1)
  t.equal(valueOf(fetches, { 'url.full': url, 'warden.outcome': 'error' }), 1)
  const age = valueOf(await points('warden.jwks.age'), { 'url.full': url })
  t.ok(age >= 0 && age < 5, `the keys in use were fetched ${age} s ago`)
  t.notMatch(
    JSON.stringify(metricExporter.getMetrics().map((m) => m.scopeMetrics.map((s) => s.metrics.map((x) => x.dataPoints.map((p) => p.attributes))))),
    /also-secret/,
    'no query (where a key may be) in an attribute'
  )
})

t.test('revocation propagation lag: what another instance revoked, as this one enforces it', { skip: await redisSkip() }, async (t) => {
  const db = await testDatabase(t, 'pglite')
  await migrateWarden(db)
  const namespace = `test-lag-${randomUUID()}`
  const redis = new Redis(REDIS_URL)
  t.teardown(() => {
    redis.disconnect()
  })
  const lists = await Promise.all(
    [0, 1].map(async () => await RevocationList.open({ store: sqlRevocationStore(db), redis, namespace, pollInterval: 3_600_000 }))
  )
  t.teardown(async () => {
    for (const list of lists) await list.close()
  })
  const before = valueOf(await points('warden.revocation.lag'), {})
  await lists[0].revoke([
    { kind: 'jti', id: 'lag-1', expiresAt: Math.floor(Date.now() / 1000) + 60 },
    { kind: 'jti', id: 'lag-2', expiresAt: Math.floor(Date.now() / 1000) + 60 }
  ])
  for (let i = 0; i < 200 && !lists[1].isRevoked({ jti: 'lag-2' }); i++) await sleep(10)
  t.ok(lists[1].isRevoked({ jti: 'lag-1' }))
  t.equal(valueOf(await points('warden.revocation.lag'), {}) - before, 2, 'two revocations heard from the other instance; its own echo is not counted')
})

t.test('without @opentelemetry/api every recording is a no-op', async (t) => {
  const {
    loadTelemetry: load,
    countAuthentication,
    startAuthenticationSpan
  } = await t.mockImport<typeof import('../../plugins/core/telemetry.js')>('../../plugins/core/telemetry.js')
  await load(async () => {
    throw Object.assign(new Error("Cannot find package '@opentelemetry/api'"), { code: 'ERR_MODULE_NOT_FOUND' })
  })
  t.equal(startAuthenticationSpan(), undefined)
  t.doesNotThrow(() => countAuthentication('oauth2', 'success'))
  await loadTelemetry()
})
