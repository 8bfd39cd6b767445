import type { Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { AttemptPolicy, LoginAttempts } from '../../../plugins/index.js'
import { DEFAULT_LOCKOUT } from '../../../plugins/core/login-attempts.js'

// One contract, every store: the rule is the library's (plugins/core/login-attempts.ts), each
// store applies it atomically.
export const POLICY: AttemptPolicy = { threshold: 2, baseDelay: 1000, maxDelay: 8000, memory: 60_000 }

/**
 * The contract of `LoginAttempts`, run against every implementation. `advance` moves the store's
 * clock (memory) or waits (Redis, whose clock is the server's).
 */
export async function loginAttemptsContract (t: Test, attempts: LoginAttempts, advance: (ms: number) => Promise<void>): Promise<void> {
  const k = randomUUID()
  t.equal(await attempts.lockedFor(k), 0)
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 0 }, 'under the threshold: granted, no lock should it fail')
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 1 }, 'the attempt that reaches the threshold locks at once')
  t.equal(await attempts.lockedFor(k), 1)
  t.same(await attempts.reserve(k, POLICY), { granted: false, retryAfter: 1 }, 'locked: nothing reserved')
  await attempts.release(k, POLICY)
  t.equal(await attempts.lockedFor(k), 0, 'the reservation given back takes the count below the threshold: the lock goes with it')
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 1 })
  await attempts.reset(k)
  t.equal(await attempts.lockedFor(k), 0, 'reset forgets the failures and the lock')
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 0 })
  await attempts.release(k, POLICY)
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 0 }, 'a count given back to nothing starts again from nothing')
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 1 })

  await advance(1100)
  t.equal(await attempts.lockedFor(k), 0, 'the lock ends')
  t.same(await attempts.reserve(k, POLICY), { granted: true, lock: 2 }, 'one more attempt after it, and the next lock is twice as long')
  await attempts.release(k, POLICY)
  t.equal(await attempts.lockedFor(k), 2, 'given back at the threshold, the count still locks: the lock stays')

  const other = randomUUID()
  t.equal(await attempts.lockedFor(other), 0, 'keys are apart')
  await attempts.release(other, POLICY)
  t.same(await attempts.reserve(other, POLICY), { granted: true, lock: 0 }, 'releasing what was never reserved changes nothing')

  const race = randomUUID()
  const many = await Promise.all(Array.from({ length: 12 }, async () => await attempts.reserve(race, { ...DEFAULT_LOCKOUT, threshold: 5 })))
  t.equal(many.filter((r) => r.granted).length, 5, '12 reservations at once: exactly the threshold granted')
  t.ok(many.filter((r) => !r.granted).every((r) => !r.granted && r.retryAfter === 30), 'the rest refused for the first lock (30 s)')
}
