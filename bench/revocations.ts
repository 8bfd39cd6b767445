import { randomUUID } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { openPglite } from '../stores/sql/pglite.js'
import { openPostgres } from '../stores/sql/postgres.js'
import { migrateWarden } from '../stores/sql/migrations.js'
import { sqlRevocationStore } from '../stores/sql/revocations.js'
import { RevocationList } from '../stores/revocation-list.js'
import type { Database } from '../stores/sql/database.js'
import { median, quantile } from './measure.js'

/**
 * The revocation list between instances: how long a revocation made by one instance takes to be
 * enforced by another (through Redis, and by the store's poll alone), how long the event loop
 * pauses while an instance opens on, and polls with, 100 000 revocations in force, and the heap
 * those hold. Two instances in this one process, on one database: PGlite, or PostgreSQL with
 * BENCH_DATABASE_URL; Redis at BENCH_REDIS_URL (the Redis row is skipped without it). Run with
 * `node --expose-gc` for the heap figure.
 */
const ACTIVE = 100_000
const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 200)
const POLL = Number(process.env.BENCH_POLL_INTERVAL ?? 250)
const REDIS_URL = process.env.BENCH_REDIS_URL
const DATABASE_URL = process.env.BENCH_DATABASE_URL
const later = (): number => Math.floor(Date.now() / 1000) + 3600

async function openDatabase (): Promise<{ db: Database; close: () => Promise<void> }> {
  if (DATABASE_URL === undefined) {
    const db = await openPglite()
    await migrateWarden(db)
    return {
      db,
      close: async () => {
        await db.close()
      }
    }
  }
  // A schema of its own, dropped at the end: the bench never touches an app's tables.
  const schema = `bench_${randomUUID().replaceAll('-', '')}`
  const admin = openPostgres(DATABASE_URL, { max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const db = openPostgres(DATABASE_URL, { searchPath: schema, max: 4 })
  await migrateWarden(db)
  return {
    db,
    close: async () => {
      await db.close()
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      await admin.close()
    }
  }
}

/** The longest pause of the event loop (ms) while `work` runs. */
async function longestStall (work: () => Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  await work()
  await sleep(5)
  histogram.disable()
  return histogram.max / 1e6
}

/** Milliseconds from each revoke on `a` until `b` enforces it, one revocation at a time. */
async function propagation (db: Database, options: { redis?: Redis; pollInterval: number }, count: number): Promise<number[]> {
  const namespace = `bench-${randomUUID()}`
  const open = async (): Promise<RevocationList> => await RevocationList.open({ store: sqlRevocationStore(db), namespace, ...options })
  const a = await open()
  const b = await open()
  const lags: number[] = []
  try {
    for (let i = 0; i < count; i++) {
      const id = `p-${randomUUID()}`
      const heard = new Promise<number>((resolve) => {
        b.onRevoked((r) => {
          if (r.some((x) => x.id === id)) resolve(performance.now())
        })
      })
      const started = performance.now()
      await a.revoke([{ kind: 'jti', id, expiresAt: later() }])
      lags.push((await heard) - started)
      // Polling: a random phase against the poll's timer; with Redis, a few ms apart.
      await sleep(Math.random() * (options.redis === undefined ? options.pollInterval : 20))
    }
  } finally {
    await a.close()
    await b.close()
    await options.redis?.del(`{${namespace}}:revoked`)
  }
  return lags
}

/** Longest pauses opening on and polling `ACTIVE` revocations, and the heap they take. */
async function atScale (db: Database): Promise<{ open: number; polls: number; idle: number; heap: number | undefined }> {
  const store = sqlRevocationStore(db)
  for (let i = 0; i < ACTIVE; i += 10_000) {
    await store.add(Array.from({ length: 10_000 }, (_, j) => ({ kind: j % 2 === 0 ? 'jti' : 'sid', id: `s-${i + j}-${randomUUID()}`, expiresAt: later() })))
  }
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const before = process.memoryUsage().heapUsed
  const idle = await longestStall(async () => {
    await sleep(1000)
  })
  let list: RevocationList | undefined
  const open = await longestStall(async () => {
    list = await RevocationList.open({ store, pollInterval: 100 })
  })
  // The propagation rows before are in force too: a few hundred more.
  if (list === undefined || list.size < ACTIVE) throw new Error(`${list?.size} revocations held, not ${ACTIVE}`)
  const polls = await longestStall(async () => {
    await sleep(2000)
  })
  gc?.()
  const heap = gc === undefined ? undefined : process.memoryUsage().heapUsed - before
  await list.close()
  return { open, polls, idle, heap }
}

const row = (label: string, lags: number[]): string =>
  `| ${label} | ${lags.length} | ${median(lags).toFixed(1)} | ${quantile(lags, 0.99).toFixed(1)} | ${Math.max(...lags).toFixed(1)} |`

const { db, close } = await openDatabase()
const redis = REDIS_URL === undefined ? undefined : new Redis(REDIS_URL)
try {
  const backend = DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL'
  console.log(
    `\nRevocation propagation between two instances (${backend}, node ${process.version}), ms from the revoke call to the other instance enforcing it\n`
  )
  console.log('| path | revocations | p50 | p99 | max |\n| --- | ---: | ---: | ---: | ---: |')
  if (redis !== undefined) console.log(row('Redis pub/sub (poll 10 min)', await propagation(db, { redis, pollInterval: 600_000 }, REVOCATIONS)))
  else console.log('| Redis pub/sub | skipped: set BENCH_REDIS_URL | | | |')
  console.log(row(`store poll only, every ${POLL} ms`, await propagation(db, { pollInterval: POLL }, Math.min(REVOCATIONS, 40))))
  const scale = await atScale(db)
  console.log(
    `\nAt ${ACTIVE.toLocaleString('en')} revocations in force (${backend}): longest event-loop pause opening ${scale.open.toFixed(1)} ms, ` +
      `during 2 s of polls every 100 ms ${scale.polls.toFixed(1)} ms (idle process, same machine: ${scale.idle.toFixed(1)} ms); ` +
      (scale.heap === undefined ? 'heap: run with --expose-gc' : `heap held ${(scale.heap / 2 ** 20).toFixed(1)} MiB`)
  )
} finally {
  await redis?.quit()
  await close()
}
