import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { startRedisCluster, startRedisSentinel, redisServerSkip } from '../helpers/redis-servers.js'
import { loginApp, ready, statuses, RIGHT, type LoginApp } from '../helpers/login-app.js'

// Lockout and rate limits on the Redis shapes production teams run, each started by the test
// from redis-server: a 3-master Cluster, and a master with a replica under a Sentinel.
const skip = await redisServerSkip()

async function disconnectAtEnd<C extends Redis | Cluster> (t: Test, client: C): Promise<C> {
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  return await ready(client)
}

/** 12 wrong passwords in flight across two instances: five checked in all, the rest locked out. */
async function storm (t: Test, a: LoginApp, b: LoginApp): Promise<void> {
  const before = a.checks() + b.checks()
  const answers = await Promise.all(Array.from({ length: 12 }, async (_, i) => await (i % 2 === 0 ? a : b).me(`guess ${i}`)))
  t.same(statuses(answers), { 401: 5, 429: 7 }, '12 wrong passwords in flight across both instances')
  t.equal(a.checks() + b.checks() - before, 5, 'the threshold of passwords checked, counted once for both')
}

/** The route limited to 3 a minute, alternately on each instance: the fourth is refused. */
async function strictLimit (t: Test, a: LoginApp, b: LoginApp): Promise<void> {
  const answers = []
  for (let i = 0; i < 4; i++) answers.push((await (i % 2 === 0 ? a : b).app.inject({ url: '/strict' })).statusCode)
  t.same(answers, [200, 200, 200, 429], 'the rate limit counts across instances')
}

t.test('a 3-master Cluster: the lockout and the rate limits count across instances, a success resets, every key has its slot', { skip }, async (t) => {
  const cluster = await startRedisCluster(t)
  const namespace = `test-${randomUUID()}`
  const clients = await Promise.all([0, 1].map(async () => await disconnectAtEnd(t, new Cluster([...cluster.nodes], { enableOfflineQueue: false }))))
  const [a, b] = await Promise.all(clients.map(async (redis) => await loginApp(t, redis, { namespace })))

  for (let i = 0; i < 4; i++) t.equal((await (i % 2 === 0 ? a : b).me(`before ${i}`)).statusCode, 401)
  t.equal((await a.me(RIGHT)).statusCode, 200, 'four failures, then the right password')
  for (let i = 0; i < 4; i++) {
    t.equal((await (i % 2 === 0 ? b : a).me(`after ${i}`)).statusCode, 401, 'the success reset the count: four more failures lock nothing')
  }
  t.equal((await b.me(RIGHT)).statusCode, 200)
  t.same(
    a.logs.concat(b.logs).filter((l) => l.msg.includes('unavailable')),
    [],
    'Redis answered every call'
  )

  await storm(t, a, b)
  await strictLimit(t, a, b)

  const keys = (await Promise.all(clients[0].nodes('master').map(async (node) => await node.keys(`${namespace}*`)))).flat().sort()
  // Login keys are digests under a hash tag; the rate-limit keys say what they count.
  t.same(
    keys.map((k) => k.slice(namespace.length).replace(/\{[\w-]{43}\}$/, '{digest}')),
    ['-rl:ip:127.0.0.1', '-rl:principal:basic:ann', '-rl:route:GET /strict:ip:127.0.0.1', ':login:{digest}', ':login:{digest}'],
    'every key written through the Cluster client, so each maps to its slot, spread over the masters'
  )
})

/** A Sentinel-made client as the README says: no offline queue, and a reconnection (to the new master) on READONLY. */
const sentinelClient = (sentinel: { name: string; sentinels: ReadonlyArray<{ host: string; port: number }> }, extra: RedisOptions = {}): Redis =>
  new Redis({
    sentinels: [...sentinel.sentinels],
    name: sentinel.name,
    enableOfflineQueue: false,
    reconnectOnError: (err) => err.message.includes('READONLY'),
    ...extra
  })

t.test('Sentinel: after a failover, logins go on and count in the new master, the rate limits too', { skip }, async (t) => {
  const sentinel = await startRedisSentinel(t)
  const namespace = `test-${randomUUID()}`
  const clients = await Promise.all([0, 1].map(async () => await disconnectAtEnd(t, sentinelClient(sentinel))))
  const [a, b] = await Promise.all(clients.map(async (redis) => await loginApp(t, redis, { namespace })))
  // A client on the master's address, not the Sentinel's: after the failover, a replica for ever.
  const oldPort = await sentinel.master()
  const direct = await disconnectAtEnd(t, new Redis({ port: oldPort, host: '127.0.0.1', enableOfflineQueue: false }))
  const stale = await loginApp(t, direct, { namespace: `test-${randomUUID()}` })
  t.equal((await a.me(RIGHT)).statusCode, 200)
  t.equal((await stale.me(RIGHT)).statusCode, 200)

  const port = await sentinel.failover()
  // The Sentinel turns the old master into a replica (and closes its clients' connections) a few
  // seconds later; until then it still takes writes.
  while ((await direct.role().catch(() => ['']))[0] !== 'slave') await sleep(100)
  await Promise.all([...clients, direct].map(ready))
  t.equal((await a.me(RIGHT)).statusCode, 200, 'no 503 after the failover')
  t.equal((await b.me(RIGHT)).statusCode, 200)
  await storm(t, a, b)
  await strictLimit(t, a, b)
  const master = await disconnectAtEnd(t, new Redis({ port, host: '127.0.0.1' }))
  t.equal((await master.keys(`${namespace}:login:*`)).length, 2, 'the counts are in the new master')
  t.same(
    a.logs.concat(b.logs).filter((l) => l.msg.includes('unavailable')),
    [],
    'the new master answered every call'
  )

  const answers = []
  for (let i = 0; i < 5; i++) answers.push((await stale.me(RIGHT)).statusCode)
  t.same(answers, [200, 200, 200, 200, 200], "a client left on a replica (READONLY): logins still go on, on this instance's own counts")
  const warned = stale.logs.filter((l) => l.msg.includes('unavailable')).sort((x, y) => x.msg.localeCompare(y.msg))
  t.match(warned, [
    { msg: 'Redis (login attempts) unavailable', reason: /^READONLY/ },
    { msg: 'Redis (rate limits) unavailable', reason: /^READONLY/ }
  ])
  t.equal(warned.length, 2, 'the operator is told once by each consumer, naming READONLY')
})
