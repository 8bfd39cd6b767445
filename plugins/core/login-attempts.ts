import type { AvailabilityLogger } from './availability.js'

/**
 * How failed logins are bounded. The rule is stated here, once; a `LoginAttempts` store only
 * applies it atomically (in memory, or in one Redis script):
 *
 * - an attempt is reserved, and counted as a failure, before its password is checked, so any
 *   number of attempts in flight (on any number of instances) finds the count already raised;
 * - the attempt that reaches `threshold` starts a lock at once: `baseDelay`, doubling with every
 *   further failure up to `maxDelay`; while locked, nothing is reserved and no password checked;
 * - failures are forgotten `memory` after the last one;
 * - a success resets the count (`reset`), and an attempt whose password was never checked (the
 *   hasher was busy, a store was down) gives its reservation back (`release`).
 *
 * So at most `threshold` passwords are ever checked for one key until its first lock, then one
 * per lock, whatever the concurrency.
 */
export interface AttemptPolicy {
  /** Failures before the first lock. */
  threshold: number
  /** First lock, ms; doubles after each further failure. */
  baseDelay: number
  /** Longest lock, ms. */
  maxDelay: number
  /** Failures are forgotten this long after the last one, ms. */
  memory: number
}

/** What reserving an attempt gave: leave to check a password, or the seconds the key stays locked. */
export type Reservation =
  /** `lock`: the seconds of the lock this attempt started, should it fail (0 under the threshold). */
  | { readonly granted: true, readonly lock: number }
  | { readonly granted: false, readonly retryAfter: number }

/**
 * Where attempts are counted, by opaque key (fastify-warden gives a digest of the canonical user
 * name, or of the client address). Every operation is atomic for its key. `log` is the log of
 * the request the call is for: a store whose dependency goes down or comes back says so there
 * when it was given no log of its own.
 */
export interface LoginAttempts {
  /** Reserve an attempt on `key`, counted as a failure until released or reset; refused while the key is locked. */
  reserve (key: string, policy: AttemptPolicy, log?: AvailabilityLogger): Promise<Reservation>
  /** Give back a reservation whose password was never checked; the lock it started goes when the count falls below the threshold. */
  release (key: string, policy: AttemptPolicy, log?: AvailabilityLogger): Promise<void>
  /** Forget every failure of `key` and its lock (a success, an administrator). */
  reset (key: string, log?: AvailabilityLogger): Promise<void>
  /** Seconds left on the lock of `key`; 0 when it is not locked. */
  lockedFor (key: string, log?: AvailabilityLogger): Promise<number>
}

/** The account lockout by default: 5 failures, then 30 s doubling up to 15 min; forgotten after a quiet day. */
export const DEFAULT_LOCKOUT: AttemptPolicy = Object.freeze({ threshold: 5, baseDelay: 30_000, maxDelay: 900_000, memory: 86_400_000 })

/** The lock that `failures` failures start under `policy`, ms (0 below the threshold). */
export const lockDelay = (failures: number, policy: AttemptPolicy): number =>
  failures < policy.threshold ? 0 : Math.min(policy.maxDelay, policy.baseDelay * 2 ** Math.min(failures - policy.threshold, 30))

const seconds = (ms: number): number => Math.ceil(ms / 1000)

interface Entry { failures: number, last: number, lockedUntil: number }

/**
 * In memory, for one instance; bounded to `max` keys, the least recently touched forgotten first.
 * `now` is the clock (tests).
 */
export function memoryLoginAttempts (options: { max?: number, now?: () => number } = {}): LoginAttempts {
  const max = options.max ?? 100_000
  const now = options.now ?? Date.now
  const entries = new Map<string, Entry>()
  const current = (key: string, policy: AttemptPolicy | undefined, at: number): Entry | undefined => {
    const entry = entries.get(key)
    if (entry === undefined || (policy !== undefined && at - entry.last > Math.max(policy.memory, entry.lockedUntil - entry.last))) return undefined
    return entry
  }
  const put = (key: string, entry: Entry): void => {
    entries.delete(key)
    if (entries.size >= max) entries.delete(entries.keys().next().value as string)
    entries.set(key, entry)
  }
  return {
    async reserve (key, policy) {
      const at = now()
      const entry = current(key, policy, at)
      if (entry !== undefined && entry.lockedUntil > at) return { granted: false, retryAfter: seconds(entry.lockedUntil - at) }
      const failures = (entry?.failures ?? 0) + 1
      const delay = lockDelay(failures, policy)
      put(key, { failures, last: at, lockedUntil: at + delay })
      return { granted: true, lock: seconds(delay) }
    },
    async release (key, policy) {
      const entry = current(key, policy, now())
      if (entry === undefined) return
      const failures = entry.failures - 1
      entries.set(key, { ...entry, failures, lockedUntil: failures < policy.threshold ? 0 : entry.lockedUntil })
    },
    async reset (key) {
      entries.delete(key)
    },
    async lockedFor (key) {
      const entry = entries.get(key)
      return entry === undefined ? 0 : Math.max(0, seconds(entry.lockedUntil - now()))
    }
  }
}
