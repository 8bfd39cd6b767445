import { PGlite } from '@electric-sql/pglite'
import { mkdir } from 'node:fs/promises'
import type { Database, Queryable } from './database.js'

/**
 * Embedded PostgreSQL (PGlite): no server to install. `dataDir` keeps the data across restarts;
 * without it the database lives in memory.
 */
export async function openPglite (dataDir?: string): Promise<Database> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true })
  const db = await PGlite.create(dataDir === undefined ? {} : { dataDir })
  const wrap = (q: Pick<PGlite, 'query'>): Queryable => ({
    async query<R> (sql: string, params: readonly unknown[] = []) {
      return (await q.query<R>(sql, params as unknown[])).rows
    }
  })
  const { query } = wrap(db)
  return {
    query,
    transaction: async (fn) => await db.transaction(async (tx) => await fn(wrap(tx))),
    close: async () => { await db.close() }
  }
}
