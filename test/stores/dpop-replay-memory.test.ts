import t from 'tap'
import { randomUUID } from 'node:crypto'
import { memoryDpopReplay, refuseReplay, type DpopReplayCache } from '../../plugins/oauth2-bearer/dpop-replay.js'
import type { VerifiedProof } from '../../plugins/oauth2-bearer/dpop-proof.js'
import { InvalidDpopProof, errors } from '../../plugins/errors.js'
import { dpopReplayContract } from './contract/dpop-replay.js'

t.test('memory: the contract', async (t) => {
  let now = Date.now()
  await dpopReplayContract(t, memoryDpopReplay({ now: () => now }), () => now, async (ms) => {
    now += ms
  })
})

t.test('memory: full of unexpired proofs, a new one is refused with a code, never a live one forgotten', async (t) => {
  let now = 0
  const cache = memoryDpopReplay({ max: 3, now: () => now })
  t.equal(cache.firstUse('a', 1000), true)
  t.equal(cache.firstUse('b', 2000), true)
  t.equal(cache.firstUse('c', 3000), true)
  const full = (): unknown => cache.firstUse('d', 3000)
  t.throws(full, { code: 'WARDEN_ERR_DPOP_REPLAY_FULL', statusCode: 503, message: 'the DPoP replay cache holds 3 unexpired proofs' })
  t.ok((() => { try { full() } catch (err) { return err instanceof errors.WARDEN_ERR_DPOP_REPLAY_FULL } })(), 'an error of the list')
  for (const key of ['a', 'b', 'c']) t.equal(cache.firstUse(key, 5000), false, `a replay of ${key} while full: refused, not thrown`)
  now = 999
  t.throws(full, { code: 'WARDEN_ERR_DPOP_REPLAY_FULL' }, 'nothing expired yet')
  now = 1000
  t.equal(cache.firstUse('d', 3000), true, "once one expires, its room is used (expiry exact to the ms: 'a' is gone at 1000)")
  t.throws(() => cache.firstUse('a', 3000), { code: 'WARDEN_ERR_DPOP_REPLAY_FULL' }, "full again: 'a', forgotten, is a new key")
  t.equal(cache.firstUse('d', 3000), false, 'the new one is remembered')
  now = 2000
  t.equal(cache.firstUse('a', 3000), true, "'b' expired: room for 'a'")
  t.equal(cache.firstUse('c', 9000), false, "'c' held to its end")
  now = 3000
  t.equal(cache.firstUse('c', 9000), true, '...and no longer')
})

t.test('memory: exact against a model of it, proofs of every lifetime in any order', async (t) => {
  let now = 0
  const cache = memoryDpopReplay({ now: () => now, max: 1000 })
  const model = new Map<string, number>()
  let seed = 7
  const random = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed % n
  }
  let disagreements = 0
  for (let i = 0; i < 5000; i++) {
    now += random(40)
    const key = `k${random(400)}`
    const expiresAt = now + random(3000) - 100
    const expected = !((model.get(key) ?? -Infinity) > now)
    if (expected && expiresAt > now) model.set(key, expiresAt)
    if (cache.firstUse(key, expiresAt) !== expected) disagreements++
  }
  t.equal(disagreements, 0, '5000 uses of 400 keys')
})

t.test('memory: its bound is checked by name', async (t) => {
  t.throws(() => memoryDpopReplay({ max: 0 }), { code: 'WARDEN_ERR_OPTION', message: /option 'max' must be an integer/ })
  t.throws(() => memoryDpopReplay({ max: '10' as never }), { code: 'WARDEN_ERR_OPTION' })
})

const proof = (replayKey: string): VerifiedProof => ({ jkt: 'k', jti: 'j', iat: 0, replayKey, expiresAt: Date.now() + 60_000 })

t.test('refuseReplay: a replayed proof is refused; synchronous with a synchronous cache; a cache that cannot tell is not blamed on the proof', async (t) => {
  const memory = memoryDpopReplay()
  const key = randomUUID()
  t.equal(refuseReplay(memory, proof(key)), undefined, 'a first use passes, synchronously')
  t.throws(() => refuseReplay(memory, proof(key)), new InvalidDpopProof('jti replayed'))
  t.throws(() => refuseReplay(memory, proof(key)), { code: 'WARDEN_ERR_INVALID_DPOP_PROOF', error: 'invalid_dpop_proof', reason: 'jti replayed' })

  const seen = new Set<string>()
  const remote: DpopReplayCache = {
    firstUse: async (k) => {
      const first = !seen.has(k)
      seen.add(k)
      return first
    }
  }
  await t.resolves(refuseReplay(remote, proof(key)) as Promise<void>)
  await t.rejects(refuseReplay(remote, proof(key)) as Promise<void>, { code: 'WARDEN_ERR_INVALID_DPOP_PROOF', reason: 'jti replayed' })
  const down = new Error('connect ECONNREFUSED')
  await t.rejects(refuseReplay({ firstUse: async () => await Promise.reject(down) }, proof(key)) as Promise<void>, down, 'a rejection passes through as it is')
  const full = memoryDpopReplay({ max: 1 })
  refuseReplay(full, proof('x'))
  t.throws(() => refuseReplay(full, proof('y')), { code: 'WARDEN_ERR_DPOP_REPLAY_FULL' }, 'a full cache: its own error, not a refused proof')
})
