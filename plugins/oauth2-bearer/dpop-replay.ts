import { integerOption } from '../core/option-checks.js'
import { InvalidDpopProof, errors } from '../errors.js'
import type { VerifiedProof } from './dpop-proof.js'

/**
 * Where the `jti` of accepted DPoP proofs are remembered (RFC 9449 §11.1), by opaque key (a
 * proof's `replayKey`). One atomic step per call, so of many requests carrying one proof at
 * once, on any number of instances sharing the cache, exactly one is its first use.
 */
export interface DpopReplayCache {
  /**
   * True when `key` was not seen (it is now remembered until `expiresAt`, ms since the epoch),
   * false when it was. Throws, or rejects, when it cannot tell (a store down, a full cache):
   * the proof is then refused as the service's fault, never accepted.
   */
  firstUse(key: string, expiresAt: number): boolean | Promise<boolean>
}

export interface MemoryDpopReplayOptions {
  /** Unexpired proofs held at most; one more is refused (`WARDEN_ERR_DPOP_REPLAY_FULL`). Default 100 000. */
  max?: number
  /** Milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number
}

export const DEFAULT_REPLAY_MAX = 100_000

/**
 * A min-heap of expiry times and their keys, in two arrays: the keys that expire first are at
 * hand, so expired ones are dropped in O(log n) each, and a full cache knows at once that none is.
 */
class ExpiryHeap {
  readonly times: number[] = []
  readonly keys: string[] = []

  get size (): number {
    return this.times.length
  }

  push (time: number, key: string): void {
    let i = this.times.length
    this.times.push(time)
    this.keys.push(key)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.times[parent] <= time) break
      this.#swap(i, parent)
      i = parent
    }
  }

  /** Remove the earliest entry. */
  pop (): void {
    const size = this.times.length - 1
    this.#swap(0, size)
    this.times.pop()
    this.keys.pop()
    let i = 0
    let least = this.#earliest(0, size)
    while (least !== i) {
      this.#swap(i, least)
      i = least
      least = this.#earliest(i, size)
    }
  }

  /** Of entry `i` and its children, the one that expires first. */
  #earliest (i: number, size: number): number {
    const left = 2 * i + 1
    let least = i
    if (left < size && this.times[left] < this.times[least]) least = left
    if (left + 1 < size && this.times[left + 1] < this.times[least]) least = left + 1
    return least
  }

  #swap (a: number, b: number): void {
    const time = this.times[a]
    const key = this.keys[a]
    this.times[a] = this.times[b]
    this.keys[a] = this.keys[b]
    this.times[b] = time
    this.keys[b] = key
  }
}

/**
 * The replay cache of one instance: exact for up to `max` unexpired proofs. Expired keys are
 * dropped as calls come; when `max` unexpired ones are held, a new proof is refused with
 * `WARDEN_ERR_DPOP_REPLAY_FULL` rather than a live key forgotten (which would let its proof be replayed).
 */
export function memoryDpopReplay (options: MemoryDpopReplayOptions = {}): DpopReplayCache {
  const max = integerOption('max', options.max, DEFAULT_REPLAY_MAX, 1, 100_000_000)
  const now = options.now ?? Date.now
  const seen = new Map<string, number>()
  const expiries = new ExpiryHeap()
  return {
    firstUse (key, expiresAt) {
      const at = now()
      while (expiries.size > 0 && expiries.times[0] <= at) {
        const expired = expiries.keys[0]
        // A key used again after it expired has a later entry of its own: only its own time drops it.
        if (seen.get(expired) === expiries.times[0]) seen.delete(expired)
        expiries.pop()
      }
      if (seen.has(key)) return false
      if (expiresAt <= at) return true
      if (seen.size >= max) throw new errors.WARDEN_ERR_DPOP_REPLAY_FULL(String(seen.size))
      seen.set(key, expiresAt)
      expiries.push(expiresAt, key)
      return true
    }
  }
}

/**
 * Refuse a proof already used (`InvalidDpopProof` 'jti replayed'); synchronous when the cache is.
 * What the cache throws or rejects with (it cannot tell) passes through unchanged.
 */
export function refuseReplay (cache: DpopReplayCache, proof: VerifiedProof): void | Promise<void> {
  const first = cache.firstUse(proof.replayKey, proof.expiresAt)
  if (first === true) return
  if (first === false) throw new InvalidDpopProof('jti replayed')
  return first.then((fresh) => {
    if (!fresh) throw new InvalidDpopProof('jti replayed')
  })
}
