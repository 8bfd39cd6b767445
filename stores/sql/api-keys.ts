import type { ApiKeyRecord } from '../../plugins/api-key/index.js'
import { UUID, type Queryable } from './database.js'

/** An API key as its owner sees it: never the key, never its digest. */
export interface StoredApiKey {
  id: string
  subject: string
  name: string
  prefix: string
  scopes: string[]
  expiresAt: Date | null
  createdAt: Date
  lastUsedAt: Date | null
  requestCount: number
}

export interface ApiKeyUse {
  id: string
  count: number
  lastUsedAt: Date
}

/** API keys by subject, stored as the digests `fastify.apiKeys.issue()` makes. */
export interface ApiKeyStore {
  create(key: { subject: string; name: string; prefix: string; digest: string; scopes: readonly string[]; expiresAt: Date | null }): Promise<StoredApiKey>
  /** What the `apiKey` scheme's `lookup` needs: a key that is not revoked, by prefix. */
  findByPrefix(prefix: string): Promise<ApiKeyRecord | null>
  listBySubject(subject: string): Promise<StoredApiKey[]>
  /** Revoke one of the subject's own keys; returns its prefix, or null if it is not theirs (or gone). */
  revoke(subject: string, id: string): Promise<string | null>
  /** Revoke every key of a subject (account deletion); returns their prefixes. */
  revokeSubject(subject: string): Promise<string[]>
  /** Add batched uses: counts add up, the last-use time only moves forward. */
  recordUses(uses: readonly ApiKeyUse[]): Promise<void>
}

const COLUMNS = 'id, subject, name, prefix, scopes, expires_at, created_at, last_used_at, request_count'

interface Row {
  id: string
  subject: string
  name: string
  prefix: string
  scopes: string[]
  expires_at: Date | null
  created_at: Date
  last_used_at: Date | null
  request_count: number
}
const date = (d: Date | null): Date | null => (d === null ? null : new Date(d))
const toKey = (r: Row): StoredApiKey => ({
  id: r.id,
  subject: r.subject,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes,
  expiresAt: date(r.expires_at),
  createdAt: new Date(r.created_at),
  lastUsedAt: date(r.last_used_at),
  requestCount: Number(r.request_count)
})

/** API keys in SQL (PGlite or PostgreSQL), in `warden_api_keys`. */
export function sqlApiKeyStore (db: Queryable): ApiKeyStore {
  return {
    async create (key) {
      const [row] = await db.query<Row>(
        `INSERT INTO warden_api_keys (subject, name, prefix, digest, scopes, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [key.subject, key.name, key.prefix, key.digest, key.scopes, key.expiresAt]
      )
      return toKey(row)
    },
    async findByPrefix (prefix) {
      const [row] = await db.query<{ id: string; digest: string; subject: string; scopes: string[]; expires_at: Date | null }>(
        'SELECT id, digest, subject, scopes, expires_at FROM warden_api_keys WHERE prefix = $1 AND revoked_at IS NULL',
        [prefix]
      )
      if (row === undefined) return null
      const expires = date(row.expires_at)
      return {
        id: row.id,
        digest: row.digest,
        subject: row.subject,
        scopes: row.scopes,
        expiresAt: expires === null ? null : Math.floor(expires.getTime() / 1000)
      }
    },
    async listBySubject (subject) {
      return (await db.query<Row>(`SELECT ${COLUMNS} FROM warden_api_keys WHERE subject = $1 AND revoked_at IS NULL ORDER BY created_at, id`, [subject])).map(
        toKey
      )
    },
    async revoke (subject, id) {
      if (!UUID.test(id)) return null
      const [row] = await db.query<{ prefix: string }>(
        'UPDATE warden_api_keys SET revoked_at = now() WHERE id = $1 AND subject = $2 AND revoked_at IS NULL RETURNING prefix',
        [id, subject]
      )
      return row?.prefix ?? null
    },
    async revokeSubject (subject) {
      const rows = await db.query<{ prefix: string }>(
        'UPDATE warden_api_keys SET revoked_at = now() WHERE subject = $1 AND revoked_at IS NULL RETURNING prefix',
        [subject]
      )
      return rows.map((r) => r.prefix)
    },
    async recordUses (uses) {
      if (uses.length === 0) return
      await db.query(
        `UPDATE warden_api_keys k SET request_count = k.request_count + u.count,
                last_used_at = GREATEST(COALESCE(k.last_used_at, u.last_used_at), u.last_used_at)
           FROM unnest($1::uuid[], $2::int[], $3::timestamptz[]) AS u(id, count, last_used_at)
          WHERE k.id = u.id`,
        [uses.map((u) => u.id), uses.map((u) => u.count), uses.map((u) => u.lastUsedAt.toISOString())]
      )
    }
  }
}
