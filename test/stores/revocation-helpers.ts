import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Queryable } from '../../stores/sql/database.js'
import type { Revocation, RevocationStore } from '../../stores/sql/revocations.js'
import type { AvailabilityLogger } from '../../plugins/core/availability.js'

/** Every revocation in force in a store, read as a new instance reads them. */
export async function inForce (store: RevocationStore): Promise<Revocation[]> {
  const all: Revocation[] = []
  let from = ''
  for (;;) {
    const page = await store.changes(from, 1000)
    all.push(...page.revocations)
    from = page.next
    if (page.revocations.length < 1000) return all
  }
}

/** `n` revocations of ids `prefix-0`… expiring at `expiresAt`. */
export const many = (n: number, prefix: string, expiresAt: number): Revocation[] =>
  Array.from({ length: n }, (_, i) => ({ kind: i % 2 === 0 ? 'jti' : 'sid', id: `${prefix}-${i}`, expiresAt }))

/**
 * A database that counts the rows its callers read from warden_revocations, per read of the
 * revocation list: a read starts with the store's mark (pg_snapshot_xmin).
 */
export function countingReads (db: Queryable): { db: Queryable, reads: number[], largest: () => number } {
  const reads: number[] = []
  let largest = 0
  return {
    reads,
    largest: () => largest,
    db: {
      async query<R>(sql: string, params?: readonly unknown[]): Promise<R[]> {
        const rows = await db.query<R>(sql, params)
        if (sql.includes('pg_snapshot_xmin')) reads.push(0)
        else if (/^\s*SELECT[\s\S]*FROM warden_revocations/.test(sql)) {
          reads[reads.length - 1] += rows.length
          largest = Math.max(largest, rows.length)
        }
        return rows
      }
    }
  }
}

/** The longest pause of the event loop (ms) while `work` runs. */
export async function longestStall (work: () => Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  try {
    await work()
    // One more turn, so that a pause at the very end is sampled.
    await sleep(5)
  } finally {
    histogram.disable()
  }
  return histogram.max / 1e6
}

/** Wait for `check` to hold, or fail after `ms`: for what happens on another connection or a timer. */
export async function until (what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const start = Date.now()
  while (!await check()) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(5)
  }
  return Date.now() - start
}

/** A logger that keeps the lines it was given. */
export function recordingLog (): AvailabilityLogger & { lines: Array<{ level: string, message: string, details: object }> } {
  const lines: Array<{ level: string, message: string, details: object }> = []
  return {
    lines,
    warn (details, message) { lines.push({ level: 'warn', message, details }) },
    info (details, message) { lines.push({ level: 'info', message, details }) }
  }
}

/** Percentile `p` (0–1) of `values`. */
export function percentile (values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}
