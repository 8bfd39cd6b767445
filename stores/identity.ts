import type { Database } from './database.js'
import { openDatabase } from './open-database.js'
import { migrate } from './migrations.js'
import { sqlUserStore, type UserStore } from './users.js'
import { wardenStores, type WardenStoreOptions, type WardenStores } from './index.js'

/** The reference app's stores: fastify-warden's, and its own users. */
export interface Stores extends WardenStores {
  users: UserStore
}

export interface StoreOptions extends WardenStoreOptions {
  /** An open database, or a URL for `openDatabase()`. */
  database: Database | string
}

/** Open (and migrate) the database and build every store on it; `close()` closes the database too. */
export async function openStores (options: StoreOptions): Promise<Stores> {
  const { database, ...rest } = options
  const db = typeof database === 'string' ? await openDatabase(database) : database
  try {
    await migrate(db)
    const warden = await wardenStores(db, rest)
    return {
      ...warden,
      users: sqlUserStore(db),
      async close () {
        await warden.close()
        await db.close()
      }
    }
  } catch (err) {
    await db.close()
    throw err
  }
}

export { DuplicateError } from './errors.js'
