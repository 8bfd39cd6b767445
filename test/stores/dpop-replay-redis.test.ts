import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { freePort, redisSkip, REDIS_URL } from '../helpers/services.js'
import { redisServerSkip, startRedisCluster, startRedisServer } from '../helpers/redis-servers.js'
import { redisDpopReplay } from '../../stores/index.js'
import type { DpopReplayCache } from '../../plugins/oauth2-bearer/dpop-replay.js'
import { dpopReplayContract } from './contract/dpop-replay.js'

const topologySkip = await redisServerSkip()
// As the reference app makes its clients (app/redis.ts): a call never waits for a Redis that is down.
const APP_OPTIONS: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500 }

function client<C extends Redis | Cluster> (t: Test, redis: C): C {
  redis.on('error', () => {})
  t.teardown(() => {
    redis.disconnect()
  })
  return redis
}

async function ready (redis: Redis | Cluster): Promise<void> {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve))
}

/** How long `firstUse` takes to fail, and that it fails rather than answering. */
async function failure (cache: DpopReplayCache): Promise<{ ms: number; outcome: unknown }> {
  const start = Date.now()
  const outcome = await Promise.resolve(cache.firstUse(randomUUID(), Date.now() + 60_000)).then(
    (first) => `answered ${String(first)}`,
    () => 'rejected'
  )
  return { ms: Date.now() - start, outcome }
}

t.test('Redis: the contract, shared by every instance', { skip: await redisSkip() }, async (t) => {
  const redis = client(t, new Redis(REDIS_URL))
  const prefix = `test-dpop-${randomUUID()}:`
  await dpopReplayContract(t, redisDpopReplay(redis, { prefix }), Date.now, async (ms) => {
    await sleep(ms)
  }, 60_000)
  const key = randomUUID()
  t.equal(await redisDpopReplay(redis, { prefix }).firstUse(key, Date.now() + 60_000), true)
  t.equal(await redisDpopReplay(client(t, new Redis(REDIS_URL)), { prefix }).firstUse(key, Date.now() + 60_000), false, 'what one instance saw, another sees')

  const plain = randomUUID()
  const expiresAt = Date.now() + 30_000
  await redisDpopReplay(redis).firstUse(plain, expiresAt)
  const ttl = await redis.pttl(`fastify-warden:dpop:${plain}`)
  t.ok(ttl > 85_000 && ttl <= 90_000, `one key under the default prefix, kept a minute beyond expiresAt (${ttl} ms left)`)
  await redis.del(`fastify-warden:dpop:${plain}`)
  const keys = await redis.keys(`${prefix}*`)
  t.ok(keys.length > 0 && keys.every((k) => k.startsWith(prefix)), 'under the prefix given')
  await redis.del(...keys)
})

t.test('Redis Cluster: the contract, keys in any slot', { skip: topologySkip }, async (t) => {
  const cluster = await startRedisCluster(t)
  const redis = client(t, new Cluster([...cluster.nodes], { enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 1 } }))
  await ready(redis)
  await dpopReplayContract(t, redisDpopReplay(redis), Date.now, async (ms) => {
    await sleep(ms)
  }, 60_000)
})

t.test('Redis unreachable: firstUse rejects at once, never answers', async (t) => {
  const closed = client(t, new Redis({ ...APP_OPTIONS, port: await freePort(), host: '127.0.0.1', lazyConnect: true }))
  const { ms, outcome } = await failure(redisDpopReplay(closed))
  t.equal(outcome, 'rejected')
  t.ok(ms < 1500, `in ${ms} ms`)
})

t.test('Redis stopped, then frozen: each call rejects within the command timeout, never answers', { skip: topologySkip }, async (t) => {
  const server = await startRedisServer(t)
  const redis = client(t, new Redis(server.url, APP_OPTIONS))
  const cache = redisDpopReplay(redis)
  await ready(redis)
  const key = randomUUID()
  t.equal(await cache.firstUse(key, Date.now() + 60_000), true)
  await server.stop()
  for (let i = 0; i < 3; i++) {
    const { ms, outcome } = await failure(cache)
    t.equal(outcome, 'rejected', `stopped, call ${i + 1}`)
    t.ok(ms < 1500, `in ${ms} ms`)
  }
  await server.start()
  await ready(redis)
  t.equal(await cache.firstUse(key, Date.now() + 60_000), true, 'back, without persistence: what it held is gone (the instances must share a durable Redis)')
  server.pause()
  t.teardown(() => server.resume())
  const { ms, outcome } = await failure(cache)
  t.equal(outcome, 'rejected', 'frozen')
  t.ok(ms >= 400 && ms < 1500, `at the command timeout (${ms} ms)`)
  server.resume()
})

t.test('redisDpopReplay: its options are checked, naming them', async (t) => {
  t.throws(() => redisDpopReplay('redis://127.0.0.1:6379' as never), { code: 'WARDEN_ERR_OPTION', message: /option 'redis' must be an ioredis client/ })
  t.throws(() => redisDpopReplay(undefined as never), { code: 'WARDEN_ERR_OPTION', message: /option 'redis'/ })
  const redis = client(t, new Redis({ lazyConnect: true }))
  t.throws(() => redisDpopReplay(redis, { prefix: 1 as never }), { code: 'WARDEN_ERR_OPTION', message: "option 'prefix' must be a string" })
})
