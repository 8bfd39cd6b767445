import type { RefreshFamily, RefreshTokenStore } from '../../plugins/oauth2-server/session-store.js'
import type { Database, Queryable } from './database.js'
import { GONE } from './migrations.js'

interface Presented {
  family_id: string
  rotated_at: Date | null
  subject: string
  scope: string
  client_id: string
  expires_at: Date
  revoked_at: Date | null
  credential: number | null
  successor_key: string | null
  auth_time: Date | null
  acr: string | null
  jkt: string | null
  /** The subject's credential changed (or the subject is gone) since the family's login. */
  stale: boolean
}

const family = (row: Presented): RefreshFamily => ({
  familyId: row.family_id,
  subject: row.subject,
  scope: row.scope,
  clientId: row.client_id,
  credential: row.credential === null ? null : Number(row.credential),
  authTime: row.auth_time === null ? null : new Date(row.auth_time).getTime() / 1000,
  acr: row.acr,
  jkt: row.jkt
})

// A family without a credential version is stale only once its subject is gone.
const PRESENTED = `SELECT t.family_id, t.rotated_at, f.subject, f.scope, f.client_id, f.expires_at, f.revoked_at,
                          f.credential::float8 AS credential, f.successor_key, f.auth_time, f.acr, f.jkt,
                          COALESCE(c.version > COALESCE(f.credential, ${GONE} - 1), false) AS stale
                     FROM warden_refresh_tokens t JOIN warden_refresh_families f ON f.id = t.family_id
                     LEFT JOIN warden_credentials c ON c.subject = f.subject
                    WHERE t.digest = $1`

const DAY = 86_400_000

/**
 * Revoke the live families of a subject; with `credential`, record it first as the subject's
 * current version (`null`: gone) and revoke only older families, in one transaction.
 */
async function revokeSubject (
  db: Database, at: Date, subject: string, reason: string, credential?: number | null
): Promise<string[]> {
  const revoke = async (q: Queryable, older: string | null): Promise<string[]> => (await q.query<{ id: string }>(
    `UPDATE warden_refresh_families SET revoked_at = $4, revoked_reason = $2
      WHERE subject = $1 AND revoked_at IS NULL AND expires_at > $4
        AND ($3::bigint IS NULL OR credential IS NULL OR credential < $3)
      RETURNING id`, [subject, reason, older, at])).map((r) => r.id)
  if (credential === undefined) return await revoke(db, null)
  const version = credential === null ? GONE : String(credential)
  return await db.transaction(async (tx) => {
    // The subject's row first: a login creating a family waits for it, or is waited for.
    await tx.query(
      `INSERT INTO warden_credentials (subject, version, updated_at) VALUES ($1, $2, $3) ON CONFLICT (subject)
         DO UPDATE SET version = GREATEST(warden_credentials.version, EXCLUDED.version), updated_at = $3`,
      [subject, version, at])
    return await revoke(tx, version)
  })
}

/**
 * `rotate`'s compare-and-swap in a transaction, its rows locked: of concurrent swaps of one
 * token, the second waits for the first and then reads the token rotated; a revocation of the
 * family waits too. With `bind`, a family without a key is bound to it in the same transaction.
 */
async function rotate (
  db: Database, at: () => Date, live: (row: Presented | undefined) => row is Presented, [digest, nextDigest]: [string, string], bind?: string
): Promise<RefreshFamily | null> {
  return await db.transaction(async (tx) => {
    const [token] = await tx.query<Presented>(PRESENTED + ' FOR UPDATE OF t, f', [digest])
    if (!live(token) || token.rotated_at !== null) return null
    await tx.query('UPDATE warden_refresh_tokens SET rotated_at = $2 WHERE digest = $1', [digest, at()])
    await tx.query('INSERT INTO warden_refresh_tokens (digest, family_id) VALUES ($1, $2)', [nextDigest, token.family_id])
    if (bind === undefined || token.jkt !== null) return family(token)
    await tx.query('UPDATE warden_refresh_families SET jkt = $2 WHERE id = $1', [token.family_id, bind])
    return family({ ...token, jkt: bind })
  })
}

/**
 * Refresh-token families in SQL (PGlite or PostgreSQL), for `oauth2Server`'s `sessions.refreshTokens`.
 * Every time it keeps or compares (rotation, revocation, expiry, purge) is on its clock, `now`.
 */
export function sqlRefreshTokenStore (db: Database, now: () => number = Date.now): RefreshTokenStore & { purge (): Promise<number> } {
  const live = (row: Presented | undefined): row is Presented =>
    row !== undefined && row.revoked_at === null && !row.stale && new Date(row.expires_at).getTime() > now()
  const at = (): Date => new Date(now())
  return {
    now,
    async createFamily ({ subject, scope, clientId, expiresAt, digest, successorKey, credential, authTime, acr, jkt }) {
      // One statement, so one round trip and no transaction held open across awaits (PGlite runs
      // one at a time: every other query of the app would wait for it). With a credential version,
      // the subject's row is written in the same statement, only while the version is current:
      // its lock orders this login and a concurrent change (revokeSubject), so either the change
      // comes first and nothing is created, or the family exists when the change revokes it.
      const current = credential === undefined
        ? 'SELECT $1::text AS subject, NULL::bigint AS version'
        : `INSERT INTO warden_credentials (subject, version, updated_at) VALUES ($1, $10, $11) ON CONFLICT (subject)
             DO UPDATE SET version = EXCLUDED.version WHERE warden_credentials.version <= EXCLUDED.version
             RETURNING subject, version`
      const [created] = await db.query<{ id: string }>(
        `WITH current AS (${current}),
              family AS (INSERT INTO warden_refresh_families (subject, scope, client_id, expires_at, successor_key, credential, auth_time, acr, jkt)
                         SELECT $1, $2, $3, $4, $6, version, $7::timestamptz, $8::text, $9::text FROM current RETURNING id)
         INSERT INTO warden_refresh_tokens (digest, family_id) SELECT $5, id FROM family RETURNING family_id AS id`,
        [subject, scope, clientId, expiresAt, digest, successorKey,
          authTime === undefined ? null : new Date(authTime * 1000), acr ?? null, jkt ?? null,
          ...(credential === undefined ? [] : [credential, at()])])
      return created?.id ?? null
    },
    async find (digest) {
      const [row] = await db.query<Presented>(PRESENTED, [digest])
      if (!live(row)) return null
      const rotatedAt = row.rotated_at === null ? null : new Date(row.rotated_at).getTime()
      return { ...family(row), rotatedAt, successorKey: row.successor_key }
    },
    rotate: async (digest, nextDigest, bind) => await rotate(db, at, live, [digest, nextDigest], bind),
    async revokeFamily (familyId, reason) {
      const revoked = await db.query(
        `UPDATE warden_refresh_families SET revoked_at = $3, revoked_reason = $2
          WHERE id = $1 AND revoked_at IS NULL RETURNING id`, [familyId, reason, at()])
      return revoked.length > 0
    },
    async revokeByToken (digest) {
      const [row] = await db.query<{ id: string, subject: string }>(
        `UPDATE warden_refresh_families f
            SET revoked_at = COALESCE(f.revoked_at, $2), revoked_reason = COALESCE(f.revoked_reason, 'revoked')
           FROM warden_refresh_tokens t WHERE t.digest = $1 AND t.family_id = f.id
         RETURNING f.id, f.subject`, [digest, at()])
      return row === undefined ? null : { familyId: row.id, subject: row.subject }
    },
    revokeSubject: async (subject, reason, credential) => await revokeSubject(db, at(), subject, reason, credential),
    async isCurrent (subject, credential) {
      const [row] = await db.query<{ current: boolean }>(
        'SELECT version <= $2 AS current FROM warden_credentials WHERE subject = $1', [subject, credential])
      return row?.current ?? true
    },
    /**
     * Delete families (and their tokens) that can no longer be used, and subjects gone for a day
     * (no login of theirs is still in flight). A family revoked today stays: its tokens presented
     * again are still recognised.
     */
    async purge () {
      const dayAgo = new Date(now() - DAY)
      await db.query(`DELETE FROM warden_credentials WHERE version = ${GONE} AND updated_at <= $1`, [dayAgo])
      return (await db.query(
        'DELETE FROM warden_refresh_families WHERE expires_at <= $1 OR revoked_at <= $2 RETURNING id',
        [at(), dayAgo])).length
    }
  }
}
