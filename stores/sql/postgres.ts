import pg from 'pg'
import { DatabaseUnavailable, type Database, type DatabaseObserver, type Queryable } from './database.js'
import { isConnectionError } from './connection-errors.js'

// int8 (counts) as numbers, as PGlite returns them; our counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

/** Connections a pool opens by default (`DATABASE_POOL_SIZE` in the reference app). */
export const DEFAULT_POOL_SIZE = 10

// A read changes nothing, so one that lost its connection runs again on another.
const READ = /^\s*SELECT\b/i

/**
 * A PostgreSQL server through a `pg` pool. `searchPath` confines the stores to one schema; `max`
 * is the pool size. A lost connection is a `DatabaseUnavailable` (a 503, not a 500), after one
 * more try when the query is a plain read outside a transaction.
 */
export function openPostgres (url: string, options: { searchPath?: string, max?: number } = {}): Database {
  if (options.searchPath !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.searchPath)) throw new TypeError('searchPath must be a plain schema name')
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? DEFAULT_POOL_SIZE,
    // A server that does not answer (a host gone, a full pool that never frees) fails the query
    // instead of holding the request for the TCP timeout.
    connectionTimeoutMillis: 10_000,
    ...(options.searchPath === undefined ? {} : { options: `-c search_path=${options.searchPath}` })
  })
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  const observers: DatabaseObserver[] = []
  const tracked = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      const result = await call()
      for (const o of observers) o.succeeded()
      return result
    } catch (err) {
      if (err instanceof DatabaseUnavailable) throw err
      if (!isConnectionError(err)) {
        // The server answered, if only to refuse the query.
        for (const o of observers) o.succeeded()
        throw err
      }
      for (const o of observers) o.failed(err as Error)
      throw new DatabaseUnavailable(err)
    }
  }
  const run = async <R>(sql: string, params: readonly unknown[]): Promise<R[]> => (await pool.query(sql, params as unknown[])).rows as R[]
  return {
    query: async <R>(sql: string, params: readonly unknown[] = []) => await tracked(async () => {
      try {
        return await run<R>(sql, params)
      } catch (err) {
        if (!isConnectionError(err) || !READ.test(sql)) throw err
        return await run<R>(sql, params)
      }
    }),
    transaction: async (fn) => await tracked(async () => await inTransaction(await pool.connect(), fn)),
    close: async () => { await pool.end() },
    watch: (observer) => { observers.push(observer) }
  }
}

/** `fn` between BEGIN and COMMIT on one client; never retried (its statements may have run). */
async function inTransaction<T> (client: pg.PoolClient, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  // A connection lost while no query runs is an 'error' event on the client, which the pool does
  // not listen to while the client is checked out: unheard, it would end the process.
  let lost = false
  const onError = (): void => { lost = true }
  client.on('error', onError)
  const tx: Queryable = { query: async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rows as R[] }
  try {
    await client.query('BEGIN')
    const result = await fn(tx)
    await client.query('COMMIT')
    return result
  } catch (err) {
    if (isConnectionError(err)) lost = true
    else await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.off('error', onError)
    // A client that lost its connection is destroyed, not handed to the next request.
    client.release(lost)
  }
}
