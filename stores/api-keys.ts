import { UUID, type Queryable } from './database.js'
import type { Role } from './users.js'

export interface StoredApiKey {
  id: string
  userId: string
  name: string
  prefix: string
  scopes: string[]
  expiresAt: Date | null
  createdAt: Date
  lastUsedAt: Date | null
  requestCount: number
}

/** What authentication needs: the digest, and the owner's current role and state. */
export interface ApiKeyCredential {
  id: string
  digest: string
  userId: string
  scopes: string[]
  expiresAt: Date | null
  role: Role
  active: boolean
}

export interface ApiKeyUse { id: string, count: number, lastUsedAt: Date }

export interface ApiKeyStore {
  create (key: { userId: string, name: string, prefix: string, digest: string, scopes: string[], expiresAt: Date | null }): Promise<StoredApiKey>
  /** A key that is not revoked, by prefix, with its owner's role. */
  findByPrefix (prefix: string): Promise<ApiKeyCredential | null>
  listByUser (userId: string): Promise<StoredApiKey[]>
  /** Revoke one of the user's own keys; returns its prefix, or null if it is not theirs (or gone). */
  revoke (userId: string, id: string): Promise<string | null>
  /** Add batched uses: counts add up, the last-use time only moves forward. */
  recordUses (uses: readonly ApiKeyUse[]): Promise<void>
}

const COLUMNS = 'id, user_id, name, prefix, scopes, expires_at, created_at, last_used_at, request_count'

interface Row { id: string, user_id: string, name: string, prefix: string, scopes: string[], expires_at: Date | null, created_at: Date, last_used_at: Date | null, request_count: number }
const date = (d: Date | null): Date | null => d === null ? null : new Date(d)
const toKey = (r: Row): StoredApiKey => ({
  id: r.id, userId: r.user_id, name: r.name, prefix: r.prefix, scopes: r.scopes, expiresAt: date(r.expires_at),
  createdAt: new Date(r.created_at), lastUsedAt: date(r.last_used_at), requestCount: Number(r.request_count)
})

export function sqlApiKeyStore (db: Queryable): ApiKeyStore {
  return {
    async create (key) {
      const [row] = await db.query<Row>(
        `INSERT INTO api_keys (user_id, name, prefix, digest, scopes, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [key.userId, key.name, key.prefix, key.digest, key.scopes, key.expiresAt])
      return toKey(row)
    },
    async findByPrefix (prefix) {
      const [row] = await db.query<{ id: string, digest: string, user_id: string, scopes: string[], expires_at: Date | null, role: Role, active: boolean }>(
        `SELECT k.id, k.digest, k.user_id, k.scopes, k.expires_at, u.role, u.active
           FROM api_keys k JOIN users u ON u.id = k.user_id
          WHERE k.prefix = $1 AND k.revoked_at IS NULL`, [prefix])
      return row === undefined
        ? null
        : { id: row.id, digest: row.digest, userId: row.user_id, scopes: row.scopes, expiresAt: date(row.expires_at), role: row.role, active: row.active }
    },
    async listByUser (userId) {
      return (await db.query<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id`, [userId])).map(toKey)
    },
    async revoke (userId, id) {
      if (!UUID.test(id)) return null
      const [row] = await db.query<{ prefix: string }>(
        'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING prefix', [id, userId])
      return row?.prefix ?? null
    },
    async recordUses (uses) {
      if (uses.length === 0) return
      await db.query(
        `UPDATE api_keys k SET request_count = k.request_count + u.count,
                last_used_at = GREATEST(COALESCE(k.last_used_at, u.last_used_at), u.last_used_at)
           FROM unnest($1::uuid[], $2::int[], $3::timestamptz[]) AS u(id, count, last_used_at)
          WHERE k.id = u.id`,
        [uses.map((u) => u.id), uses.map((u) => u.count), uses.map((u) => u.lastUsedAt.toISOString())])
    }
  }
}
