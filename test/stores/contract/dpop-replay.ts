import type { Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { DpopReplayCache } from '../../../plugins/oauth2-bearer/dpop-replay.js'

/**
 * The contract of `DpopReplayCache`, run against every implementation. `now` is the store's clock
 * (ms); `advance` moves it (memory) or waits (Redis). `margin`: how long a cache keeps a key beyond
 * its expiry (Redis keeps it a minute more, for instances whose clocks differ); 0 for exact.
 */
export async function dpopReplayContract (
  t: Test,
  cache: DpopReplayCache,
  now: () => number,
  advance: (ms: number) => Promise<void>,
  margin = 0
): Promise<void> {
  const key = randomUUID()
  const later = now() + 60_000
  t.equal(await cache.firstUse(key, later), true, 'the first use')
  t.equal(await cache.firstUse(key, later), false, 'the second: a replay')
  t.equal(await cache.firstUse(key, now() + 120_000), false, 'whatever expiry it is given then')
  t.equal(await cache.firstUse(randomUUID(), later), true, 'another key is apart')

  const brief = randomUUID()
  if (margin > 0) {
    t.equal(await cache.firstUse(brief, now() - 1), true, 'an expiry already past')
    t.equal(await cache.firstUse(brief, now() - 1), false, 'is still kept for the margin: another instance\'s clock may be behind')
    return await race(t, cache, now)
  }
  t.equal(await cache.firstUse(brief, now() + 300), true)
  t.equal(await cache.firstUse(brief, now() + 300), false, 'remembered until its expiry')
  await advance(400)
  t.equal(await cache.firstUse(brief, now() + 60_000), true, 'after it: usable again (the proof would be refused for its iat by then)')
  t.equal(await cache.firstUse(brief, now() + 60_000), false, 'and remembered anew')
  t.equal(await cache.firstUse(key, later), false, 'a key not yet expired is still remembered')

  const past = randomUUID()
  t.equal(await cache.firstUse(past, now() - 1), true, 'an expiry already past: nothing to remember')
  t.equal(await cache.firstUse(past, now() - 1), true)

  await race(t, cache, now)
}

async function race (t: Test, cache: DpopReplayCache, now: () => number): Promise<void> {
  const key = randomUUID()
  const results = await Promise.all(Array.from({ length: 50 }, async () => await cache.firstUse(key, now() + 60_000)))
  t.equal(results.filter((first) => first).length, 1, '50 uses of one proof at once: exactly one is its first')
}
