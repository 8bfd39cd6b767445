import t from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { redisSkip, REDIS_URL } from '../helpers/services.js'
import { memoryLoginAttempts } from '../../plugins/index.js'
import { redisLoginAttempts, type LockoutRedis } from '../../stores/index.js'
import { loginAttemptsContract, POLICY } from './contract/login-attempts.js'

t.test('Redis: the contract, shared by every instance', { skip: await redisSkip() }, async (t) => {
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const namespace = `test-${randomUUID()}`
  await loginAttemptsContract(t, redisLoginAttempts(redis, { namespace }), async (ms) => {
    await sleep(ms)
  })
  const one = redisLoginAttempts(redis, { namespace })
  const two = redisLoginAttempts(redis, { namespace })
  await one.reserve('shared', { ...POLICY, threshold: 1 })
  t.equal(await two.lockedFor('shared'), 1, 'what one instance counted, another sees')
  const keys = await redis.keys(`${namespace}:*`)
  t.ok(keys.length > 0 && keys.every((k) => /^test-[\w-]+:login:\{[^{}]+\}$/.test(k)), 'each key is one hash under its own hash tag (one slot in a Cluster)')
  const plain = randomUUID()
  await redisLoginAttempts(redis).reserve(plain, POLICY)
  t.equal(await redis.exists(`fastify-warden:login:{${plain}}`), 1, 'the default namespace is fastify-warden')
  await redis.del(`fastify-warden:login:{${plain}}`)
})

t.test('redisLoginAttempts: its options are checked, naming them', async (t) => {
  const redis = new Redis({ lazyConnect: true })
  t.throws(() => redisLoginAttempts('redis://127.0.0.1:6379' as never), { code: 'WARDEN_ERR_OPTION', message: /option 'redis' must be an ioredis client/ })
  t.throws(() => redisLoginAttempts(redis, { fallback: { reserve: async () => ({ granted: true, lock: 0 }) } as never }), {
    code: 'WARDEN_ERR_OPTION',
    message: /option 'fallback' must be LoginAttempts/
  })
  t.throws(() => redisLoginAttempts(redis, { fallback: true as never }), { code: 'WARDEN_ERR_OPTION', message: /option 'fallback'/ })
  t.doesNotThrow(() => redisLoginAttempts(redis, { fallback: false }))
})

t.test('redisLoginAttempts: a call Redis cannot answer goes to the fallback, one warn line until one it answers', async (t) => {
  let up = false
  const redis = {
    eval: async () => {
      if (!up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' })
      return [1, 0]
    }
  }
  const lines: Array<[string, string]> = []
  const log = { warn: (_: object, m: string) => lines.push(['warn', m]), info: (_: object, m: string) => lines.push(['info', m]) }
  const fallback = memoryLoginAttempts()
  let now = 0
  const attempts = redisLoginAttempts(redis, { fallback, now: () => now })
  for (let i = 0; i < 3; i++) await attempts.reserve('k', { ...POLICY, threshold: 2 }, log)
  t.same(await fallback.reserve('k', POLICY), { granted: false, retryAfter: 1 }, 'the fallback counted the three: locked')
  t.same(lines, [['warn', 'Redis (login attempts) unavailable']], 'told once, on the log of the call that met it')
  up = true
  t.same(await attempts.reserve('k', POLICY, log), { granted: true, lock: 0 }, 'Redis answers again: its count is used')
  t.equal(lines.length, 1, 'not back yet: a second without failure first')
  now += 1000
  await attempts.reset('k', log)
  t.same(await fallback.reserve('k', POLICY), { granted: true, lock: 0 }, 'a reset forgets what the outage counted too')
  t.same(lines, [
    ['warn', 'Redis (login attempts) unavailable'],
    ['info', 'Redis (login attempts) available again']
  ])
})

t.test(
  'regression: an attempt reserved in the fallback during an outage is given back there, not to Redis once it answers again',
  { skip: await redisSkip() },
  async (t) => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
    t.teardown(() => {
      redis.disconnect()
    })
    let down = false
    const flaky: LockoutRedis = {
      eval: async (...args) => {
        if (down) throw new Error('connect ECONNREFUSED')
        return await redis.eval(...args)
      }
    }
    const namespace = `test-crossover-${randomUUID()}`
    t.teardown(async () => {
      await redis.del(`${namespace}:login:{victim}`)
    })
    const attempts = redisLoginAttempts(flaky, { namespace, log: { warn () {}, info () {} } })
    const policy = { threshold: 3, baseDelay: 60_000, maxDelay: 60_000, memory: 600_000 }
    let checked = 0
    for (let i = 0; i < 2; i++) {
      t.equal((await attempts.reserve('victim', policy)).granted, true)
      checked++
    }
    // Redis down: two attempts reserved in memory, refused before any password was checked...
    down = true
    await attempts.reserve('victim', policy)
    await attempts.reserve('victim', policy)
    // ...and given back after Redis is back.
    down = false
    await attempts.release('victim', policy)
    await attempts.release('victim', policy)
    while ((await attempts.reserve('victim', policy)).granted && checked < 20) checked++
    t.equal(checked, policy.threshold, 'the two failures Redis counted still count: one more check, then the lock')
  }
)
