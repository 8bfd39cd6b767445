import pg from 'pg'
import { DatabaseUnavailable, type Database, type DatabaseObserver, type Queryable } from './database.js'

// int8 (counts) as numbers, as PGlite returns them; our counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

/** Connections a pool opens by default (`DATABASE_POOL_SIZE` in the reference app). */
export const DEFAULT_POOL_SIZE = 10

// SQLSTATE of a server that ends or refuses the session: class 08 (connection exception) and
// 57P01-03 (terminated by an administrator, a crash, a server starting or stopping); 53300 is a
// server out of connection slots, which also passes.
const SERVER_CODES = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/
const NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
// pg's own errors for a connection that ended or could not be had carry no code, only a message.
const PG_MESSAGES = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect)/

/**
 * Whether `err` says the server was not reached or the connection was lost, rather than that the
 * query failed: such a query may not have run at all, and the server may answer the next one.
 */
export function isConnectionError (err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown, message?: unknown }
  if (typeof code === 'string' && (SERVER_CODES.test(code) || NODE_CODES.has(code))) return true
  return typeof message === 'string' && PG_MESSAGES.test(message)
}

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
