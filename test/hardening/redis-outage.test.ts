import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startRedisServer, redisServerSkip, type RedisServer } from '../helpers/redis-servers.js'
import { loginApp, ready, statuses, RIGHT, type LogLine } from '../helpers/login-app.js'

// A Redis outage as instances meet it: a redis-server of the test's own, killed and started
// again. Clients are made as the README says: no offline queue, so a call fails at once.
const skip = await redisServerSkip()

async function client (t: Test, server: RedisServer): Promise<Redis> {
  const redis = new Redis({ port: server.port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  t.teardown(() => redis.disconnect())
  return await ready(redis)
}

t.test('while Redis is down, Basic logins are counted per instance, never not at all; once it is back, the shared counts again', { skip }, async (t) => {
  const server = await startRedisServer(t)
  const namespace = `test-${randomUUID()}`
  const clients = [await client(t, server), await client(t, server)]
  const [a, b] = await Promise.all(clients.map(async (redis) => await loginApp(t, redis, { namespace })))
  t.equal((await a.me('wrong')).statusCode, 401, 'Redis up: a wrong password is refused after its check')

  await server.stop()
  const storm = await Promise.all(Array.from({ length: 40 }, async (_, i) => await a.me(`guess ${i}`)))
  t.same(statuses(storm), { 401: 5, 429: 35 }, '40 wrong passwords in flight: five checked, the rest locked out before their check')
  t.equal(a.checks(), 1 + 5, 'the threshold of passwords checked on this instance, no more')
  const right = await a.me(RIGHT)
  t.equal(right.statusCode, 429, 'the right password is refused while the account is locked')
  t.equal(right.headers['retry-after'], '30')
  t.equal(a.checks(), 6, 'and not checked')
  t.equal((await b.me(RIGHT)).statusCode, 200, 'the other instance counts for itself: the service stays usable')
  t.equal((await a.app.inject({ url: '/open' })).statusCode, 200, "a route's rate limit fails open by default")
  const strict = await a.app.inject({ url: '/strict' })
  t.equal(strict.statusCode, 503, 'a route with skipOnError: false fails closed')
  t.equal(strict.headers['retry-after'], '1')

  await server.start()
  await Promise.all(clients.map(ready))
  const before = a.checks() + b.checks()
  const shared = await Promise.all(Array.from({ length: 12 }, async (_, i) => await (i % 2 === 0 ? a : b).me(`again ${i}`)))
  t.same(statuses(shared), { 401: 5, 429: 7 }, 'Redis back: 12 wrong passwords across both instances lock after five')
  t.equal(a.checks() + b.checks() - before, 5, 'counted once for both, in Redis')
  t.equal((await clients[0].keys(`${namespace}:login:*`)).length, 2, "the account's and the address's counts are in Redis again")
})

const lines = (logs: LogLine[], from: number): Array<[number, string]> => logs.slice(from).map((l) => [l.level, l.msg])

t.test('an outage is one warn line per consumer when it starts and one info line when it ends, not a line per request', { skip }, async (t) => {
  const server = await startRedisServer(t)
  const redis = await client(t, server)
  const { app, logs, me } = await loginApp(t, redis, { namespace: `test-${randomUUID()}` })
  t.equal((await me(RIGHT)).statusCode, 200)
  const start = logs.length
  await server.stop()
  // One login at a time: logins of one account in flight are reserved as failures until checked.
  const during = []
  for (let i = 0; i < 100; i++) during.push(...(await Promise.all([me(RIGHT), app.inject({ url: '/open' })])))
  t.same(statuses(during), { 200: 200 }, '200 requests during the outage: logins on the per-instance counts, other routes open')
  t.same(
    lines(logs, start),
    [
      [40, 'Redis (rate limits) unavailable'],
      [40, 'Redis (login attempts) unavailable']
    ],
    'one warn line for each consumer of Redis'
  )
  t.notMatch(JSON.stringify(logs.slice(start)), /stack/, 'no stack trace')

  await server.start()
  await ready(redis)
  // Back once a call succeeds a second after the last failure (a half-down Redis is one outage).
  await sleep(1000)
  const back = logs.length
  t.equal((await me(RIGHT)).statusCode, 200)
  t.same(
    lines(logs, back).sort(),
    [
      [30, 'Redis (login attempts) available again'],
      [30, 'Redis (rate limits) available again']
    ],
    'one info line for each when it answers again'
  )
})

t.test('fallback: false fails closed: every login is a 503 with Retry-After while Redis is down, no password checked', { skip }, async (t) => {
  const server = await startRedisServer(t)
  const redis = await client(t, server)
  const { checks, logs, me } = await loginApp(t, redis, { namespace: `test-${randomUUID()}`, fallback: false })
  await server.stop()
  const start = logs.length
  const refused = await Promise.all(Array.from({ length: 20 }, async () => await me(RIGHT)))
  t.same(statuses(refused), { 503: 20 })
  t.equal(refused[0].headers['retry-after'], '5')
  t.equal(checks(), 0, 'no password checked')
  t.same(
    lines(logs, start).filter(([, msg]) => msg.includes('login-attempt store')),
    [[40, 'login-attempt store unavailable']],
    'the login says it once'
  )
  await server.start()
  await ready(redis)
  await sleep(1000)
  t.equal((await me(RIGHT)).statusCode, 200, 'Redis back: logins again')
  t.same(
    lines(logs, start).filter(([, msg]) => msg.includes('login-attempt store')),
    [
      [40, 'login-attempt store unavailable'],
      [30, 'login-attempt store available again']
    ]
  )
})
