import { migrate } from './migrations.js'
import { sqlUserStore, type User, type UserStore } from './users.js'
import { openDatabase, wardenStores, type Database, type WardenStoreOptions, type WardenStores } from '../stores/index.js'
import { grantable } from './schemas/scopes.js'
import type { ApiKeyRecord, PasswordHasher, VerifiedUser, VerifyUser, WardenUser } from '../plugins/index.js'

/** The reference app's stores: fastify-warden's, and its own users. */
export interface Stores extends WardenStores {
  users: UserStore
}

export interface StoreOptions extends WardenStoreOptions {
  /** An open database, or a URL for `openDatabase()`. */
  database: Database | string
  /** Connections of the PostgreSQL pool when `database` is a URL. Default 10. */
  pool?: number
}

/** Open (and migrate) the database and build every store on it; `close()` closes the database too. */
export async function openStores (options: StoreOptions): Promise<Stores> {
  const { database, pool, ...rest } = options
  const db = typeof database === 'string' ? await openDatabase(database, pool === undefined ? {} : { pool }) : database
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

/**
 * The reference app's users as the plugins ask for them: `verifyUser` for logins (the hash
 * upgraded when its parameters are old), `findSubject` for refreshes, `lookup` for API keys.
 * A grant is the user's role (the token endpoint's `roles` option gives its scopes), read
 * today, and nothing for a disabled account.
 */
export function storeCallbacks (stores: Stores, passwords: PasswordHasher): {
  verifyUser: VerifyUser
  findSubject: (subject: string) => Promise<VerifiedUser | null>
  lookup: (prefix: string) => Promise<ApiKeyRecord | null>
  keyOwner: (record: ApiKeyRecord) => Promise<WardenUser | null>
} {
  // The credential version read with the hash: a password changed meanwhile refuses the session.
  const grantOf = (user: User): VerifiedUser => ({ subject: user.id, roles: [user.role], credential: user.credentialVersion })
  return {
    async verifyUser (username, password, request) {
      // The request: a refusal whose client has left stops waiting (and counting) at once.
      await passwords.refuseIfBusy(request)
      const user = await stores.users.findByUsername(username)
      const ok = await passwords.verify(user?.passwordHash, password, request)
      if (user === null || !ok || !user.active) return null
      // Only over the hash just checked: a password changed meanwhile is not put back.
      if (passwords.needsRehash(user.passwordHash) && await stores.users.rehash(user.id, user.passwordHash, await passwords.hash(password))) {
        request.log.info({ subject: user.id }, 'password hash upgraded')
      }
      return grantOf(user)
    },
    async findSubject (subject) {
      const user = await stores.users.findById(subject)
      return user === null || !user.active ? null : grantOf(user)
    },
    async lookup (prefix) {
      const key = await stores.lookup(prefix)
      const owner = key === null ? null : await stores.users.findById(key.subject)
      // A key never grants more than its owner's role does today, and dies with the account.
      if (key === null || owner === null || !owner.active) return null
      return { ...key, scopes: grantable(owner.role, key.scopes) }
    },
    async keyOwner (record) {
      // Service keys from configuration have no owner account; a user's key is checked on every
      // request, so it dies with the account whatever the verified-key cache holds.
      if (record.id.startsWith('static-')) return {}
      const owner = await stores.users.findById(record.subject)
      return owner === null || !owner.active ? null : { username: owner.username }
    }
  }
}
