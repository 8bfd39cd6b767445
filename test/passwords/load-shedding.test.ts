import t, { type Test } from 'tap'
import Fastify from 'fastify'
import argon2 from 'argon2'
import { createPasswordHasher, warden, oauth2Bearer, oauth2Server, type LoginAttempts, type PasswordHasher } from '../../plugins/index.js'
import { SECRET } from '../helpers/keys.js'
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const cheap = { memoryCost: 1024, timeCost: 1 }

/** Count the argon2 verifications that really run. */
function countVerifications (t: Test): () => number {
  const original = argon2.verify
  let calls = 0
  argon2.verify = (async (...args: Parameters<typeof original>) => {
    calls++
    return await original(...args)
  }) as typeof original
  t.teardown(() => {
    argon2.verify = original
  })
  return () => calls
}

/** When each of `count` checks, refused while another runs, is answered: ms from their start, in the order they were made. */
async function refusalTimes (hasher: PasswordHasher, count: number): Promise<number[]> {
  const hash = await hasher.hash('pw')
  const started = performance.now()
  const running = hasher.verify(hash, 'pw')
  const answered = await Promise.all(
    Array.from(
      { length: count },
      async () =>
        await hasher.verify(hash, 'pw').then(
          () => Number.NaN,
          () => performance.now() - started
        )
    )
  )
  await running
  return answered
}

t.test('the hasher runs a bounded number of hashes and refuses beyond its queue, hashing nothing', async (t) => {
  const hasher = createPasswordHasher({ ...cheap, concurrency: 1, queue: 1, refusalDelay: 0 })
  const hash = await hasher.hash('pw')
  const verified = countVerifications(t)
  const checks = [hasher.verify(hash, 'pw'), hasher.verify(hash, 'pw'), hasher.verify(hash, 'pw')]
  t.same(hasher.load(), { running: 1, queued: 1 })
  const results = await Promise.allSettled(checks)
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected']
  )
  t.match((results[2] as PromiseRejectedResult).reason, { code: 'WARDEN_ERR_BUSY', statusCode: 503 })
  t.equal(verified(), 2, 'the refused check was never hashed')
  t.same(hasher.load(), { running: 0, queued: 0 }, 'slots are given back')
  t.throws(() => createPasswordHasher({ concurrency: 0 }), { code: 'WARDEN_ERR_OPTION', message: /option 'concurrency'/ })
  t.throws(() => createPasswordHasher({ refusalDelay: -1 }), { code: 'WARDEN_ERR_OPTION', message: /option 'refusalDelay'/ })
})

t.test('a refusal is answered after a pause around the refusal delay, holding no slot and hashing nothing meanwhile', async (t) => {
  const hasher = createPasswordHasher({ ...cheap, concurrency: 1, queue: 0, refusalDelay: 200 })
  const hash = await hasher.hash('pw')
  const verified = countVerifications(t)
  const started = performance.now()
  const first = hasher.verify(hash, 'pw')
  const second = hasher.verify(hash, 'pw').then(
    () => 'admitted',
    (err: unknown) => err
  )
  t.equal(await first, true)
  t.same(hasher.load(), { running: 0, queued: 0 }, 'while its refusal waits, the refused check holds no slot and no place in the queue')
  t.equal((await Promise.allSettled([hasher.verify(hash, 'pw')]))[0].status, 'fulfilled', 'a check arriving meanwhile is admitted')
  t.match(await second, { code: 'WARDEN_ERR_BUSY' })
  const waited = performance.now() - started
  t.ok(waited >= 95, `refused after ${waited.toFixed(0)} ms (at least half the delay), not at once`)
  t.equal(verified(), 2, 'only the admitted checks were hashed')
})

t.test('checks refused together are answered at different times, so their clients do not come back together', async (t) => {
  // A refusal rate that 16 refusals do not reach: the pauses are the refusal delay's.
  const answered = await refusalTimes(createPasswordHasher({ ...cheap, concurrency: 1, queue: 0, refusalDelay: 200, refusalRate: 1000 }), 16)
  const first = Math.min(...answered)
  const last = Math.max(...answered)
  t.ok(first >= 95, `the first refusal after ${first.toFixed(0)} ms: at least half the delay`)
  t.ok(last < 400, `the last after ${last.toFixed(0)} ms: at most one and a half times the delay, and the timer's slack`)
  t.ok(last - first >= 40, `spread over ${(last - first).toFixed(0)} ms, not answered at once`)
})

t.test('a refusal whose client has left stops waiting and stops counting: clients that time out and reconnect do not stretch every pause', async (t) => {
  const hasher = createPasswordHasher({ ...cheap, concurrency: 1, queue: 0, refusalDelay: 20, refusalRate: 100 })
  const hash = await hasher.hash('pw')
  const client = (): { raw: { socket: Socket } } => ({ raw: { socket: Object.assign(new EventEmitter(), { destroyed: false }) as unknown as Socket } })
  const started = performance.now()
  const running = hasher.verify(hash, 'pw')
  const leaving = Array.from({ length: 30 }, client)
  const abandoned = leaving.map(
    async (request) =>
      await hasher.verify(hash, 'pw', request).then(
        () => Number.NaN,
        (err: { code?: string }) => {
          t.equal(err.code, 'WARDEN_ERR_BUSY')
          return performance.now() - started
        }
      )
  )
  await running
  await sleep(5)
  const closedAt = performance.now() - started
  for (const request of leaving) request.raw.socket.emit('close')
  const late = Math.max(...(await Promise.all(abandoned))) - closedAt
  t.ok(late < 50, `the 30 refusals ended when their clients left (the last ${late.toFixed(0)} ms after), not up to 450 ms later`)
  // Alone again: the next refusal waits the refusal delay, not 31 refusals at 100 a second.
  const next = performance.now()
  const again = hasher.verify(hash, 'pw')
  const refused = await hasher.verify(hash, 'pw', client()).then(
    () => Number.NaN,
    () => performance.now() - next
  )
  await again
  t.ok(refused < 80, `the next refusal after ${refused.toFixed(0)} ms: the refusal delay (10–30 ms)`)
  // A refusal delay far above the machine's noise: "without a pause" is then told from one at once.
  const patient = createPasswordHasher({ ...cheap, concurrency: 1, queue: 0, refusalDelay: 1000, refusalRate: 100 })
  const gone = client()
  Object.assign(gone.raw.socket, { destroyed: true })
  const blocker = patient.verify(hash, 'pw')
  const at = performance.now()
  await t.rejects(patient.refuseIfBusy(gone), { code: 'WARDEN_ERR_BUSY' })
  const waited = performance.now() - at
  t.ok(waited < 300, `a client already gone is refused without the 1 s pause (after ${waited.toFixed(0)} ms)`)
  await blocker
})

t.test('beyond the refusal rate, refusals wait longer: the more clients are refused, the later each is answered', async (t) => {
  const answered = await refusalTimes(createPasswordHasher({ ...cheap, concurrency: 1, queue: 0, refusalDelay: 20, refusalRate: 100 }), 30)
  // The k-th refusal waiting waits max(20, 1000·k/100) ms, times 0.5 to 1.5: the first 10–30 ms, the 30th 150–450.
  t.ok(answered[0] < 60, `the first refusal after ${answered[0].toFixed(0)} ms: the refusal delay`)
  t.ok(answered[29] >= 150, `the 30th after ${answered[29].toFixed(0)} ms: 30 refusals at 100 a second`)
  t.throws(() => createPasswordHasher({ refusalRate: 0 }), { code: 'WARDEN_ERR_OPTION', message: /option 'refusalRate'/ })
})

t.test('refuseIfBusy() refuses before any lookup when a check would be refused, and lets it through otherwise', async (t) => {
  const hasher = createPasswordHasher({ ...cheap, concurrency: 1, queue: 1, refusalDelay: 0 })
  const hash = await hasher.hash('pw')
  await hasher.refuseIfBusy()
  const running = [hasher.verify(hash, 'pw'), hasher.verify(hash, 'pw')]
  t.same(hasher.load(), { running: 1, queued: 1 })
  const verified = countVerifications(t)
  await t.rejects(hasher.refuseIfBusy(), { code: 'WARDEN_ERR_BUSY', statusCode: 503 })
  t.same(hasher.load(), { running: 1, queued: 1 }, 'the refusal took no place')
  await Promise.all(running)
  await hasher.refuseIfBusy()
  t.equal(verified(), 1, 'refuseIfBusy() itself hashes nothing (one check was still queued)')
})

t.test('a login storm at the token endpoint is shed with 503 and Retry-After before hashing; lockout counters untouched', async (t) => {
  const hasher = createPasswordHasher({ ...cheap, concurrency: 1, queue: 0, refusalDelay: 0 })
  const stored = await hasher.hash('the right password')
  let held = 0
  const loginAttempts: LoginAttempts = {
    reserve: async () => {
      held++
      return { granted: true, lock: 0 }
    },
    release: async () => {
      held--
    },
    reset: async () => {},
    lockedFor: async () => 0
  }
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({
    logger: {
      level: 'warn',
      stream: {
        write: (line: string) => {
          lines.push(JSON.parse(line))
        }
      }
    }
  })
  await app.register(warden, { scopes: {} })
  await app.register(oauth2Bearer, { secret: SECRET, issuer: 'https://id', audience: 'https://api' })
  await app.register(oauth2Server, {
    loginAttempts,
    rateLimit: false,
    verifyUser: async (username, password) => ((await hasher.verify(username === 'ada' ? stored : undefined, password)) ? { subject: 'ada', scopes: [] } : null)
  })
  t.teardown(() => app.close())
  await app.ready()
  const verified = countVerifications(t)
  const storm = await Promise.all(
    Array.from(
      { length: 8 },
      async () =>
        await app.inject({
          method: 'POST',
          url: '/auth/token',
          payload: 'grant_type=password&username=ada&password=wrong',
          headers: { 'content-type': 'application/x-www-form-urlencoded' }
        })
    )
  )
  const shed = storm.filter((r) => r.statusCode === 503)
  const refused = storm.filter((r) => r.statusCode === 400)
  t.ok(shed.length > 0, `${shed.length} of 8 shed`)
  t.equal(shed.length + refused.length, 8, 'each is shed or refused: nothing else')
  for (const res of shed) {
    t.equal(res.headers['retry-after'], '1')
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.equal(res.headers['cache-control'], 'no-store')
  }
  t.equal(verified(), refused.length, 'only the refused ones were hashed')
  t.equal(held, refused.length, 'a shed login gives its reservation back: only the refused ones count as failed')
  t.ok(
    lines.some((l) => l.event === 'auth.login.shed'),
    'logged as auth.login.shed'
  )
})
