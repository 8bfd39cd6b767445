/**
 * Consecutive failed logins per account (not per address): after `threshold` of them the
 * account is locked for a delay that doubles with every further failure, up to `maxDelay`.
 * A successful login or an administrator resets it. Unknown user names are counted the same
 * way, so a lock says nothing about whether an account exists.
 */
export interface LoginAttempts {
  /** Seconds left on the account's lock; 0 when it is not locked. */
  lockedFor (username: string): Promise<number>
  /** Count a failure; returns the seconds of the lock it starts (0 while under the threshold). */
  fail (username: string): Promise<number>
  reset (username: string): Promise<void>
}

export interface LockoutPolicy {
  /** Failures before the first lock. Default 5. */
  threshold?: number
  /** First lock, ms; doubles after each further failure. Default 30 s. */
  baseDelay?: number
  /** Longest lock, ms. Default 15 min. */
  maxDelay?: number
  /** Failures are forgotten after this long without one, ms. Default 24 h. */
  memory?: number
  now?: () => number
}

export const lockoutKey = (username: string): string => username.normalize('NFC').toLowerCase()

export function lockoutPolicy (p: LockoutPolicy): Required<LockoutPolicy> {
  return { threshold: p.threshold ?? 5, baseDelay: p.baseDelay ?? 30_000, maxDelay: p.maxDelay ?? 900_000, memory: p.memory ?? 86_400_000, now: p.now ?? Date.now }
}

export const lockDelay = (failures: number, p: Required<LockoutPolicy>): number =>
  failures < p.threshold ? 0 : Math.min(p.maxDelay, p.baseDelay * 2 ** Math.min(failures - p.threshold, 30))

/** In memory, for one instance; bounded to `max` accounts (the oldest are forgotten first). */
export function memoryLoginAttempts (options: LockoutPolicy & { max?: number } = {}): LoginAttempts {
  const p = lockoutPolicy(options)
  const max = options.max ?? 100_000
  const entries = new Map<string, { failures: number, last: number, lockedUntil: number }>()
  return {
    async lockedFor (username) {
      const entry = entries.get(lockoutKey(username))
      return entry === undefined ? 0 : Math.max(0, Math.ceil((entry.lockedUntil - p.now()) / 1000))
    },
    async fail (username) {
      const k = lockoutKey(username)
      const now = p.now()
      const previous = entries.get(k)
      const failures = previous === undefined || now - previous.last > p.memory ? 1 : previous.failures + 1
      const delay = lockDelay(failures, p)
      entries.delete(k)
      if (entries.size >= max) entries.delete(entries.keys().next().value as string)
      entries.set(k, { failures, last: now, lockedUntil: now + delay })
      return Math.ceil(delay / 1000)
    },
    async reset (username) {
      entries.delete(lockoutKey(username))
    }
  }
}

