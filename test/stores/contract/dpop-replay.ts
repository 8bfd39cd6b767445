import type { Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { DpopReplayCache } from '../../../plugins/oauth2-bearer/dpop-replay.js'

/**
 * The contract of `DpopReplayCache`, run against every implementation. `now` is the store's clock
 * (ms); `advance` moves it (memory) or waits (Redis, whose clock is the server's).
 */
export async function dpopReplayContract (t: Test, cache: DpopReplayCache, now: () => number, advance: (ms: number) => Promise<void>): Promise<void> {
  const key = randomUUID()
  const later = now() + 60_000
  t.equal(await cache.firstUse(key, later), true, 'the first use')
  t.equal(await cache.firstUse(key, later), false, 'the second: a replay')
  t.equal(await cache.firstUse(key, now() + 120_000), false, 'whatever expiry it is given then')
  t.equal(await cache.firstUse(randomUUID(), later), true, 'another key is apart')

  const brief = randomUUID()
  t.equal(await cache.firstUse(brief, now() + 300), true)
  t.equal(await cache.firstUse(brief, now() + 300), false, 'remembered until its expiry')
  await advance(400)
  t.equal(await cache.firstUse(brief, now() + 60_000), true, 'after it: usable again (the proof would be refused for its iat by then)')
  t.equal(await cache.firstUse(brief, now() + 60_000), false, 'and remembered anew')
  t.equal(await cache.firstUse(key, later), false, 'a key not yet expired is still remembered')

  const past = randomUUID()
  t.equal(await cache.firstUse(past, now() - 1), true, 'an expiry already past: nothing to remember')
  t.equal(await cache.firstUse(past, now() - 1), true)

  const race = randomUUID()
  const results = await Promise.all(Array.from({ length: 50 }, async () => await cache.firstUse(race, now() + 60_000)))
  t.equal(results.filter((first) => first).length, 1, '50 uses of one proof at once: exactly one is its first')
}
