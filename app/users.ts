import { canonicalUsername } from '../plugins/index.js'
import type { Database, Queryable } from '../stores/index.js'
import { rethrowDuplicate } from './errors.js'
import type { Role } from './schemas/scopes.js'

// The unique constraints of the users table, by name, and the field each guards.
const UNIQUE = { users_username_key: 'username', users_username_canonical: 'username', users_email_key: 'email' }
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export type { Role }

export interface User {
  id: string
  username: string
  email: string
  role: Role
  active: boolean
  passwordHash: string
  createdAt: Date
  passwordChangedAt: Date
  /** Grows with every password change: what the login that checked this hash reports. */
  credentialVersion: number
}

export interface NewUser {
  username: string
  email: string
  passwordHash: string
  role: Role
}

export interface UserStore {
  count(): Promise<number>
  /** Throws DuplicateError('username' | 'email') when taken (a user name in any case or form). */
  create(user: NewUser): Promise<User>
  findById(id: string): Promise<User | null>
  findByUsername(username: string): Promise<User | null>
  list(page: { limit: number; offset: number }): Promise<User[]>
  delete(id: string): Promise<boolean>
  /** A password change: the new hash and a new credential version (returned, for `endSessions`). */
  changePassword(id: string, passwordHash: string): Promise<number>
  /**
   * Replace a hash by a stronger one of the same password, only while `previous` is still the
   * stored hash: a rehash that lost the race to a password change changes nothing.
   */
  rehash(id: string, previous: string, passwordHash: string): Promise<boolean>
}

const COLUMNS = 'id, username, email, role, active, password_hash, created_at, password_changed_at, credential_version::float8 AS credential_version'

interface Row {
  id: string
  username: string
  email: string
  role: Role
  active: boolean
  password_hash: string
  created_at: Date
  password_changed_at: Date
  credential_version: number
}

const toUser = (r: Row): User => ({
  id: r.id,
  username: r.username,
  email: r.email,
  role: r.role,
  active: r.active,
  passwordHash: r.password_hash,
  createdAt: new Date(r.created_at),
  passwordChangedAt: new Date(r.password_changed_at),
  credentialVersion: Number(r.credential_version)
})

export function sqlUserStore (db: Queryable): UserStore {
  return {
    async count () {
      const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')
      return row.n
    },
    async create (user) {
      try {
        const [row] = await db.query<Row>(
          `INSERT INTO users (username, username_key, email, password_hash, role) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
          [user.username, canonicalUsername(user.username), user.email, user.passwordHash, user.role]
        )
        return toUser(row)
      } catch (err) {
        return rethrowDuplicate(err, UNIQUE)
      }
    },
    async findById (id) {
      if (!UUID.test(id)) return null
      const [row] = await db.query<Row>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id])
      return row === undefined ? null : toUser(row)
    },
    async findByUsername (username) {
      const [row] = await db.query<Row>(`SELECT ${COLUMNS} FROM users WHERE username_key = $1`, [canonicalUsername(username)])
      return row === undefined ? null : toUser(row)
    },
    async list ({ limit, offset }) {
      return (await db.query<Row>(`SELECT ${COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2`, [limit, offset])).map(toUser)
    },
    async delete (id) {
      if (!UUID.test(id)) return false
      return (await db.query('DELETE FROM users WHERE id = $1 RETURNING id', [id])).length === 1
    },
    async changePassword (id, passwordHash) {
      const [row] = await db.query<{ version: number }>(
        `UPDATE users SET password_hash = $2, password_changed_at = now(), credential_version = credential_version + 1
         WHERE id = $1 RETURNING credential_version::float8 AS version`,
        [id, passwordHash]
      )
      return Number(row?.version ?? 0)
    },
    async rehash (id, previous, passwordHash) {
      return (
        (await db.query('UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2 RETURNING id', [id, previous, passwordHash])).length === 1
      )
    }
  }
}

// Any number, as long as no other advisory lock of this database uses it (migrations: 7 423 010-11).
const FIRST_USER_LOCK = 7_423_020

/**
 * Create `user` only while there is no user at all (the administrator of a first start), however
 * many instances start together: one creates it, the others find it made (null).
 */
export async function createFirstUser (db: Database, user: NewUser): Promise<User | null> {
  return await db.transaction(async (tx) => {
    // Held until the transaction ends, so the count and the insert are one step across instances.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [FIRST_USER_LOCK])
    const users = sqlUserStore(tx)
    return (await users.count()) > 0 ? null : await users.create(user)
  })
}
