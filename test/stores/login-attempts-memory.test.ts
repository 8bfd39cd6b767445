import t from 'tap'
import { memoryLoginAttempts, type AttemptPolicy } from '../../plugins/index.js'
import { loginAttemptsContract, POLICY } from './contract/login-attempts.js'

t.test('memory: the contract', async (t) => {
  let now = Date.now()
  await loginAttemptsContract(t, memoryLoginAttempts({ now: () => now }), async (ms) => { now += ms })
})

t.test('memory: failures are forgotten `memory` after the last one, never while locked; the bound drops the oldest key', async (t) => {
  let now = 0
  const attempts = memoryLoginAttempts({ now: () => now, max: 2 })
  const quick: AttemptPolicy = { threshold: 2, baseDelay: 5000, maxDelay: 5000, memory: 1000 }
  await attempts.reserve('u', quick)
  now += 1000
  t.match(await attempts.reserve('u', quick), { granted: true, lock: 5 }, 'a failure exactly `memory` later still counts')
  now += 2000
  t.match(await attempts.reserve('u', quick), { granted: false }, 'a lock longer than the memory is kept for its whole length')
  now += 3001
  t.match(await attempts.reserve('u', quick), { granted: true, lock: 0 }, 'forgotten once both are over')

  // A key's presence shows in its next reservation: a kept key's second failure locks (threshold 2).
  const twice: AttemptPolicy = { ...POLICY, threshold: 2, baseDelay: 30_000, maxDelay: 30_000 }
  const full = memoryLoginAttempts({ now: () => now, max: 2 })
  await full.reserve('a', twice)
  await full.reserve('b', twice)
  await full.reserve('c', twice)
  t.match(await full.reserve('a', twice), { granted: true, lock: 0 }, 'a third key drops the first: it counts from nothing again')
  const touched = memoryLoginAttempts({ now: () => now, max: 2 })
  await touched.reserve('a', twice)
  await touched.reserve('b', twice)
  await touched.reserve('b', twice)
  t.match(await touched.reserve('a', twice), { granted: true, lock: 30 }, 'touching a key already held drops nothing')
})
