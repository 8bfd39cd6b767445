import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { redisSkip, REDIS_URL } from '../helpers/services.js'
import { DEFAULT_LOCKOUT, memoryLoginAttempts, redisLoginAttempts, type AttemptPolicy, type LoginAttempts } from '../../plugins/index.js'

// One contract, every store: the rule is the library's (plugins/oauth2-server/lockout.ts), each
// store applies it atomically.
const POLICY: AttemptPolicy = { threshold: 2, baseDelay: 2000, maxDelay: 8000, memory: 60_000 }

async function contract (t: Test, attempts: LoginAttempts): Promise<void> {
  const k = randomUUID()
  t.equal(await attempts.lockedFor(k), 0)
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 0 }, 'under the threshold: granted, no lock should it fail')
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 2 }, 'the attempt that reaches the threshold locks at once (2 s)')
  t.equal(await attempts.lockedFor(k), 2)
  t.same(await attempts.reserve(k, POLICY), { granted: false, retryAfter: 2 }, 'locked: nothing reserved')
  await attempts.release(k, POLICY)
  t.equal(await attempts.lockedFor(k), 0, 'the reservation given back takes the count below the threshold: the lock goes with it')
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 2 })
  await attempts.reset(k)
  t.equal(await attempts.lockedFor(k), 0, 'reset forgets the failures and the lock')
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 0 })

  const other = randomUUID()
  t.equal(await attempts.lockedFor(other), 0, 'keys are apart')
  await attempts.release(other, POLICY)
  t.same(await attempts.reserve(other, POLICY), { granted: true, lock: 0 }, 'releasing what was never reserved changes nothing')

  const race = randomUUID()
  const many = await Promise.all(Array.from({ length: 12 }, async () => await attempts.reserve(race, { ...DEFAULT_LOCKOUT, threshold: 5 })))
  t.equal(many.filter((r) => r.granted).length, 5, '12 reservations at once: exactly the threshold granted')
  t.ok(many.filter((r) => !r.granted).every((r) => !r.granted && r.retryAfter === 30), 'the rest refused for the first lock (30 s)')
}

t.test('memory: the contract', async (t) => { await contract(t, memoryLoginAttempts()) })

t.test('Redis: the contract, shared by every instance', { skip: await redisSkip() }, async (t) => {
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const namespace = `test-${randomUUID()}`
  await contract(t, redisLoginAttempts(redis, { namespace }))
  const one = redisLoginAttempts(redis, { namespace })
  const two = redisLoginAttempts(redis, { namespace })
  await one.reserve('shared', { ...POLICY, threshold: 1 })
  t.equal(await two.lockedFor('shared'), 2, 'what one instance counted, another sees')
  const keys = await redis.keys(`${namespace}:*`)
  t.ok(keys.every((k) => /^test-[\w-]+:login:\{[^{}]+\}$/.test(k)), 'each key is one hash under its own hash tag (one slot in a Cluster)')
})

t.test('memory: locks double up to the longest, failures are forgotten, the bound holds', async (t) => {
  let now = 0
  const attempts = memoryLoginAttempts({ now: () => now, max: 2 })
  for (const expected of [0, 2]) t.match(await attempts.reserve('u', POLICY), { granted: true, lock: expected })
  now += 2000
  t.match(await attempts.reserve('u', POLICY), { granted: true, lock: 4 }, 'after the first lock, one more attempt, and the next lock is twice as long')
  now += 4000
  t.match(await attempts.reserve('u', POLICY), { granted: true, lock: 8 })
  now += 8000
  t.match(await attempts.reserve('u', POLICY), { granted: true, lock: 8 }, 'never longer than maxDelay')
  now += 8000 + 60_001
  t.match(await attempts.reserve('u', POLICY), { granted: true, lock: 0 }, 'a failure long after the last starts a new count')
  await attempts.reserve('a', { ...POLICY, threshold: 1 })
  await attempts.reserve('b', { ...POLICY, threshold: 1 })
  t.equal(await attempts.lockedFor('u'), 0, 'the least recently touched key was dropped at the bound')
  t.equal(await attempts.lockedFor('b'), 2)
})
