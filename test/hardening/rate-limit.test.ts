import t from 'tap'
import Fastify from 'fastify'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { openapi, rateLimit, type RateLimitOptions } from '../../plugins/index.js'
import { schemesApp } from '../helpers/schemes.js'
import { referenceApp, form, ADMIN_PASSWORD } from '../helpers/reference-app.js'
import { closeSharedDatabase, redisSkip, testDatabase, REDIS_URL } from '../helpers/services.js'
import { openStores } from '../../app/stores.js'
import { redisServerSkip, startRedisServer } from '../helpers/redis-servers.js'

t.teardown(closeSharedDatabase)

async function limitedApp (opts: RateLimitOptions) {
  const fixture = await schemesApp()
  const app = fixture.app
  await app.register(openapi, { routePrefix: false })
  await app.register(rateLimit, opts)
  app.get('/open', { schema: { security: [] } }, async () => 'ok')
  app.get('/mine', { schema: { security: [{ apiKey: [] }] } }, async () => 'ok')
  app.get('/login', { schema: { security: [] }, config: { rateLimit: { max: 2, timeWindow: 60_000 } } }, async () => 'ok')
  app.get('/health', { schema: { security: [] }, config: { rateLimit: false } }, async () => 'ok')
  await app.ready()
  return fixture
}

t.test('per client address: headers on every answer, then a 429 problem with Retry-After', async (t) => {
  const { app } = await limitedApp({ max: 3, timeWindow: 60_000 })
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ url: '/open' })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-ratelimit-limit'], '3')
    t.equal(res.headers['x-ratelimit-remaining'], String(2 - i))
  }
  const res = await app.inject({ url: '/open' })
  t.equal(res.statusCode, 429)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(res.headers['retry-after'], /^\d+$/)
  t.ok(Number(res.headers['retry-after']) > 0 && Number(res.headers['retry-after']) <= 60)
  t.match(res.json(), { type: 'about:blank', title: 'Too Many Requests', status: 429, detail: /^Too many requests; retry in \d+ seconds\.$/ })
  t.equal((await app.inject({ url: '/mine' })).statusCode, 429, 'the address limit comes before authentication: bad credentials count')
  t.equal((await app.inject({ url: '/open', remoteAddress: '10.0.0.9' })).statusCode, 200, 'another address has its own bucket')
  t.equal((await app.inject({ url: '/health' })).statusCode, 200, 'a route can opt out')
  for (let i = 1; i <= 3; i++) t.equal((await app.inject({ url: '/open', remoteAddress: `2001:db8:0:1::${i}` })).statusCode, 200)
  t.equal(
    (await app.inject({ url: '/open', remoteAddress: '2001:db8:0:1:abcd::1' })).statusCode,
    429,
    'an IPv6 client is its /64: another address of it shares the bucket'
  )
  t.equal((await app.inject({ url: '/open', remoteAddress: '2001:db8:0:2::1' })).statusCode, 200)
})

t.test('a spoofed X-Forwarded-For opens no fresh bucket unless trustProxy names the proxy', async (t) => {
  const { app } = await limitedApp({ max: 2, timeWindow: 60_000 })
  for (let i = 0; i < 2; i++) await app.inject({ url: '/open' })
  const spoofed = await app.inject({ url: '/open', headers: { 'x-forwarded-for': `203.0.113.${Math.floor(Math.random() * 200)}` } })
  t.equal(spoofed.statusCode, 429)

  const behindProxy = Fastify({ trustProxy: '127.0.0.1' })
  await behindProxy.register(rateLimit, { max: 1, timeWindow: 60_000 })
  behindProxy.get('/x', async () => 'x')
  t.equal((await behindProxy.inject({ url: '/x', headers: { 'x-forwarded-for': '198.51.100.1' } })).statusCode, 200)
  t.equal((await behindProxy.inject({ url: '/x', headers: { 'x-forwarded-for': '198.51.100.1' } })).statusCode, 429)
  t.equal(
    (await behindProxy.inject({ url: '/x', headers: { 'x-forwarded-for': '198.51.100.2' } })).statusCode,
    200,
    'a trusted proxy forwards real client addresses'
  )
})

t.test('per principal after authentication, and stricter per route', async (t) => {
  const { app, readKey } = await limitedApp({ max: 100, timeWindow: 60_000, principal: { max: 2, timeWindow: 60_000 } })
  for (let i = 0; i < 2; i++) t.equal((await app.inject({ url: '/mine', headers: { 'x-api-key': readKey }, remoteAddress: `10.1.0.${i}` })).statusCode, 200)
  t.equal(
    (await app.inject({ url: '/mine', headers: { 'x-api-key': readKey }, remoteAddress: '10.1.0.99' })).statusCode,
    429,
    'the key is limited wherever it comes from'
  )
  t.equal((await app.inject({ url: '/login' })).statusCode, 200)
  t.equal((await app.inject({ url: '/login' })).statusCode, 200)
  t.equal((await app.inject({ url: '/login' })).statusCode, 429)
  t.equal((await app.inject({ url: '/open' })).statusCode, 200, 'the route limit does not spend the global one')
})

t.test('every limited route documents its 429', async (t) => {
  const { app } = await limitedApp({ max: 5, timeWindow: 60_000 })
  const paths = app.swagger().paths as Record<string, { get: { responses: Record<string, { headers?: object }> } }>
  for (const url of ['/open', '/mine', '/login']) {
    t.ok('429' in paths[url].get.responses, `${url} documents 429`)
    t.ok(paths[url].get.responses['429'].headers && 'Retry-After' in paths[url].get.responses['429'].headers)
  }
  t.notOk('429' in paths['/health'].get.responses, 'a route without a limit does not')
})

t.test('options are validated', async (t) => {
  for (const [opts, message] of [
    [{ max: 0, timeWindow: 1000 }, /rateLimit.max/],
    [{ max: 1, timeWindow: 10 }, /rateLimit.timeWindow/],
    [{ max: 1, timeWindow: 1000, failOpen: 'no' }, /failOpen/],
    [{ max: 1, timeWindow: 1000, redis: 'redis://127.0.0.1:6379' }, /option 'redis' must be an ioredis client/],
    [{ max: 1, timeWindow: 1000, redis: new Redis({ lazyConnect: true }), nameSpace: 7 }, /option 'nameSpace' must be a string/]
  ] as const) {
    const app = Fastify()
    app.register(rateLimit, opts as unknown as RateLimitOptions)
    await t.rejects(
      (async () => {
        await app.ready()
      })(),
      { code: 'WARDEN_ERR_OPTION', message }
    )
  }
})

t.test('the token endpoint: LOGIN_RATE_LIMIT per address, and it fails closed when Redis is down', async (t) => {
  const { app } = await referenceApp(t, { env: { LOGIN_RATE_LIMIT: '2/minute' } })
  const attempt = async () =>
    await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: 'wrong' }) })
  t.equal((await attempt()).statusCode, 400)
  t.equal((await attempt()).statusCode, 400)
  const limited = await attempt()
  t.equal(limited.statusCode, 429)
  t.ok(limited.headers['retry-after'])
  const right = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }) })
  t.equal(right.statusCode, 429, 'even the right password waits')

  // Only the rate-limit counters are in the unreachable Redis here.
  const down = await referenceApp(t, {
    env: { REDIS_URL: 'redis://127.0.0.1:1', LOGIN_RATE_LIMIT: '5/minute' },
    stores: await openStores({ database: await testDatabase(t) })
  })
  const closed = await down.app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }) })
  t.equal(closed.statusCode, 503, 'no counting, no login')
  t.equal(closed.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal((await down.app.inject({ url: '/health' })).statusCode, 200, 'other routes fail open')
})

t.test('two instances sharing Redis share the counters', { skip: await redisSkip() }, async (t) => {
  const namespace = `test-rl-${randomUUID()}:`
  const clients = [
    new Redis(REDIS_URL, { enableOfflineQueue: false, lazyConnect: true }),
    new Redis(REDIS_URL, { enableOfflineQueue: false, lazyConnect: true })
  ]
  await Promise.all(clients.map((c) => c.connect()))
  t.teardown(() => {
    for (const c of clients) c.disconnect()
  })
  const apps = await Promise.all(
    clients.map(async (redis) => {
      const app = Fastify()
      await app.register(rateLimit, { max: 3, timeWindow: 60_000, redis, nameSpace: namespace })
      app.get('/x', async () => 'x')
      return app
    })
  )
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await apps[i % 2].inject({ url: '/x' })).statusCode)
  t.same(statuses, [200, 200, 200, 429], 'the fourth request is refused, whichever instance gets it')
})

t.test('Redis keys name what they count: the address, the principal, the route', { skip: await redisServerSkip() }, async (t) => {
  const server = await startRedisServer(t)
  const redis = new Redis(server.port, '127.0.0.1', { enableOfflineQueue: false })
  t.teardown(() => redis.disconnect())
  await new Promise((resolve) => redis.once('ready', resolve))
  const { app, readKey } = await limitedApp({ max: 100, timeWindow: 60_000, redis })
  for (const url of ['/open', '/open', '/login', '/health']) t.equal((await app.inject({ url })).statusCode, 200, url)
  t.equal((await app.inject({ url: '/mine', headers: { 'x-api-key': readKey } })).statusCode, 200)
  const keys = (await redis.keys('*')).sort()
  t.same(keys, ['fastify-warden-rl:ip:127.0.0.1', 'fastify-warden-rl:principal:apiKey:key-read', 'fastify-warden-rl:route:GET /login:ip:127.0.0.1'])
  t.same(
    await Promise.all(keys.map(async (k) => await redis.get(k))),
    ['3', '1', '1'],
    'the address counted /open twice and /mine; the route and the key once each'
  )
  t.ok(
    (await Promise.all(keys.map(async (k) => await redis.pttl(k)))).every((ms) => ms > 55_000 && ms <= 60_000),
    'each key lives for its window'
  )
})

t.test('a per-route limit with a setting the plugin does not apply stops the app, naming it', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ max: 2, timewindow: 60_000 }, /option 'GET \/x config\.rateLimit\.timewindow' is not a setting/],
    [{ max: 2, keyGenerator: () => 'k' }, /config\.rateLimit\.keyGenerator' is not a setting/],
    [{ max: '2' }, /config\.rateLimit\.max' must be an integer/],
    [{ max: 2, skipOnError: 'no' }, /config\.rateLimit\.skipOnError' must be a boolean/],
    ['5/minute', /config\.rateLimit' must be \{ max, timeWindow, skipOnError \} or false/]
  ]
  for (const [limit, message] of cases) {
    const { app } = await schemesApp()
    await app.register(rateLimit, { max: 10, timeWindow: 60_000 })
    t.throws(
      () => app.get('/x', { schema: { security: [] }, config: { rateLimit: limit as never } }, async () => 'ok'),
      { code: 'WARDEN_ERR_OPTION', message },
      JSON.stringify(limit)
    )
    await app.close()
  }
})
