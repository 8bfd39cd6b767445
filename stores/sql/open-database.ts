import type { Database } from './database.js'

/**
 * Open the database a URL names: `postgres://…` / `postgresql://…` for a server (a pool of
 * `pool` connections, default 10), `memory://` for a throw-away embedded one, anything else is an
 * embedded database kept in that folder.
 */
export async function openDatabase (url: string, options: { pool?: number } = {}): Promise<Database> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgres } = await import('./postgres.js')
    return openPostgres(url, options.pool === undefined ? {} : { max: options.pool })
  }
  const { openPglite } = await import('./pglite.js')
  return await openPglite(url === 'memory://' ? undefined : url)
}
