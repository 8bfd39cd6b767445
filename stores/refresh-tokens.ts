import type { RefreshFamily, RefreshTokenStore, Rotation } from '../plugins/oauth2-server/refresh-rotation.js'
import type { Database } from './database.js'

interface Presented { family_id: string, rotated_at: Date | null, subject: string, scope: string, client_id: string, expires_at: Date, revoked_at: Date | null }

const family = (row: Presented): RefreshFamily => ({ familyId: row.family_id, subject: row.subject, scope: row.scope, clientId: row.client_id })

const PRESENTED = `SELECT t.family_id, t.rotated_at, f.subject, f.scope, f.client_id, f.expires_at, f.revoked_at
                     FROM warden_refresh_tokens t JOIN warden_refresh_families f ON f.id = t.family_id WHERE t.digest = $1`

/** Refresh-token families in SQL (PGlite or PostgreSQL), for `oauth2Server`'s `sessions.refreshTokens`. */
export function sqlRefreshTokenStore (db: Database, now: () => number = Date.now): RefreshTokenStore & { purge (): Promise<number> } {
  const live = (row: Presented | undefined): row is Presented =>
    row !== undefined && row.rotated_at === null && row.revoked_at === null && new Date(row.expires_at).getTime() > now()
  return {
    async createFamily ({ subject, scope, clientId, expiresAt, digest }) {
      // One statement, so one round trip and no transaction held open across awaits (PGlite runs
      // one at a time: every other query of the app would wait for it).
      const [created] = await db.query<{ id: string }>(
        `WITH family AS (INSERT INTO warden_refresh_families (subject, scope, client_id, expires_at) VALUES ($1, $2, $3, $4) RETURNING id)
         INSERT INTO warden_refresh_tokens (digest, family_id) SELECT $5, id FROM family RETURNING family_id AS id`, [subject, scope, clientId, expiresAt, digest])
      return created.id
    },
    async find (digest) {
      const [row] = await db.query<Presented>(PRESENTED, [digest])
      return live(row) ? family(row) : null
    },
    async rotate (digest, nextDigest) {
      return await db.transaction(async (tx): Promise<Rotation> => {
        // The row lock makes two concurrent uses of one token serialise: the second sees it rotated.
        const [token] = await tx.query<Presented>(PRESENTED + ' FOR UPDATE OF t, f', [digest])
        if (token === undefined) return { outcome: 'invalid' }
        if (token.rotated_at !== null) {
          await tx.query("UPDATE warden_refresh_families SET revoked_at = now(), revoked_reason = 'reuse' WHERE id = $1 AND revoked_at IS NULL", [token.family_id])
          return { outcome: 'reused', familyId: token.family_id, subject: token.subject }
        }
        if (!live(token)) return { outcome: 'invalid' }
        await tx.query('UPDATE warden_refresh_tokens SET rotated_at = now() WHERE digest = $1', [digest])
        await tx.query('INSERT INTO warden_refresh_tokens (digest, family_id) VALUES ($1, $2)', [nextDigest, token.family_id])
        return { outcome: 'rotated', ...family(token) }
      })
    },
    async revokeByToken (digest) {
      const [row] = await db.query<{ id: string, subject: string }>(
        `UPDATE warden_refresh_families f SET revoked_at = COALESCE(f.revoked_at, now()), revoked_reason = COALESCE(f.revoked_reason, 'revoked')
           FROM warden_refresh_tokens t WHERE t.digest = $1 AND t.family_id = f.id RETURNING f.id, f.subject`, [digest])
      return row === undefined ? null : { familyId: row.id, subject: row.subject }
    },
    async revokeSubject (subject, reason) {
      const rows = await db.query<{ id: string }>(
        'UPDATE warden_refresh_families SET revoked_at = now(), revoked_reason = $2 WHERE subject = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id', [subject, reason])
      return rows.map((r) => r.id)
    },
    /** Delete families (and their tokens) that can no longer be used: expired, or revoked for longer than a day. */
    async purge () {
      return (await db.query(
        "DELETE FROM warden_refresh_families WHERE expires_at <= now() OR revoked_at <= now() - interval '1 day' RETURNING id")).length
    }
  }
}
