import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { Socket, createServer } from 'node:net'
import { openPglite } from '../../stores/sql/pglite.js'
import { openPostgres } from '../../stores/sql/postgres.js'
import { migrate } from '../../app/migrations.js'
import type { Database } from '../../stores/sql/database.js'

export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export type Backend = 'pglite' | 'postgres'

function reachable (url: string, fallbackPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = new Socket()
    socket.setTimeout(1000)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => resolve(false))
    socket.connect(Number(port || fallbackPort), hostname)
  })
}

/**
 * `false` when a service test can run, else why it is skipped: on a developer's machine an
 * unreachable server skips with a message; with CI=true the test always runs (and fails if the
 * server is down). Use as `t.test(name, { skip: await postgresSkip() }, …)`.
 */
async function skipUnless (name: string, variable: string, url: string, port: number): Promise<string | false> {
  if (process.env.CI === 'true' || await reachable(url, port)) return false
  return `${name} is not reachable at ${url}: start it or set ${variable} (CI runs this test)`
}

export const postgresSkip = async (): Promise<string | false> => await skipUnless('PostgreSQL', 'DATABASE_URL', POSTGRES_URL, 5432)
export const redisSkip = async (): Promise<string | false> => await skipUnless('Redis', 'REDIS_URL', REDIS_URL, 6379)

/** The backend the app-level tests use: TEST_DATABASE=postgres in CI, the embedded one otherwise. */
export const APP_BACKEND: Backend = process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'pglite'

let pglite: Promise<Database> | undefined
const TABLES = ['warden_revocations', 'warden_refresh_tokens', 'warden_refresh_families', 'warden_credentials', 'warden_api_keys', 'users']

/**
 * A migrated, empty database for one test. PGlite: one instance per test process (a cold start
 * is ~3 s and ~750 MB), emptied for each test. PostgreSQL: a schema of its own per test, dropped
 * at teardown, so test files can run in parallel.
 */
export async function testDatabase (t: Test, backend: Backend = APP_BACKEND): Promise<Database> {
  if (backend === 'pglite') {
    pglite ??= openPglite().then(async (db) => { await migrate(db); return db })
    const db = await pglite
    await db.query(`TRUNCATE ${TABLES.join(', ')}`)
    return { ...db, close: async () => {} }
  }
  const schema = `test_${randomBytes(6).toString('hex')}`
  const admin = openPostgres(POSTGRES_URL, { max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const db = openPostgres(POSTGRES_URL, { searchPath: schema, max: 4 })
  await migrate(db)
  let closed = false
  t.teardown(async () => {
    if (!closed) await db.close()
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.close()
  })
  return { ...db, close: async () => { closed = true; await db.close() } }
}

/** Close the process-wide PGlite instance when the test file ends. */
export async function closeSharedDatabase (): Promise<void> {
  if (pglite !== undefined) await (await pglite).close()
  pglite = undefined
}

/** A port free on 127.0.0.1 now, for a server whose public URL must be known before it listens. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
