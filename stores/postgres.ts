import pg from 'pg'
import type { Database, Queryable } from './database.js'

// int8 (counts) as numbers, as PGlite returns them; our counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

/** A PostgreSQL server through a `pg` pool. `searchPath` confines the stores to one schema. */
export function openPostgres (url: string, options: { searchPath?: string, max?: number } = {}): Database {
  if (options.searchPath !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.searchPath)) throw new TypeError('searchPath must be a plain schema name')
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    ...(options.searchPath === undefined ? {} : { options: `-c search_path=${options.searchPath}` })
  })
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  const query = async <R>(sql: string, params: readonly unknown[] = []): Promise<R[]> => (await pool.query(sql, params as unknown[])).rows as R[]
  return {
    query,
    async transaction (fn) {
      const client = await pool.connect()
      const tx: Queryable = { query: async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rows as R[] }
      try {
        await client.query('BEGIN')
        const result = await fn(tx)
        await client.query('COMMIT')
        return result
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        client.release()
      }
    },
    close: async () => { await pool.end() }
  }
}
