import type { Database } from './database.js'

/** What presenting a refresh token led to. */
export type Rotation =
  | { outcome: 'rotated', familyId: string, userId: string, scope: string }
  /** The token had been rotated already: the whole family is now revoked (RFC 9700 §4.14.2). */
  | { outcome: 'reused', familyId: string, userId: string }
  | { outcome: 'invalid' }

export interface RefreshTokenStore {
  /** Start a family (one login) with its first token; returns the family id. */
  createFamily (family: { userId: string, scope: string, expiresAt: Date, digest: string }): Promise<string>
  /** Swap `digest` for `nextDigest` in one transaction, or detect reuse. */
  rotate (digest: string, nextDigest: string): Promise<Rotation>
  /** Revoke the family of a token (RFC 7009); returns the family id, or null for an unknown token. */
  revokeByToken (digest: string): Promise<{ familyId: string, userId: string } | null>
  /** Revoke every live family of a user (password change); returns their ids. */
  revokeUser (userId: string, reason: string): Promise<string[]>
}

interface Presented { family_id: string, rotated_at: Date | null, user_id: string, scope: string, expires_at: Date, revoked_at: Date | null }

export function sqlRefreshTokenStore (db: Database): RefreshTokenStore {
  return {
    async createFamily ({ userId, scope, expiresAt, digest }) {
      return await db.transaction(async (tx) => {
        const [family] = await tx.query<{ id: string }>(
          'INSERT INTO refresh_families (user_id, scope, expires_at) VALUES ($1, $2, $3) RETURNING id', [userId, scope, expiresAt])
        await tx.query('INSERT INTO refresh_tokens (digest, family_id) VALUES ($1, $2)', [digest, family.id])
        return family.id
      })
    },
    async rotate (digest, nextDigest) {
      return await db.transaction(async (tx): Promise<Rotation> => {
        // The row lock makes two concurrent uses of one token serialise: the second sees it rotated.
        const [token] = await tx.query<Presented>(
          `SELECT t.family_id, t.rotated_at, f.user_id, f.scope, f.expires_at, f.revoked_at
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
            WHERE t.digest = $1 FOR UPDATE OF t, f`, [digest])
        if (token === undefined) return { outcome: 'invalid' }
        if (token.rotated_at !== null) {
          await tx.query("UPDATE refresh_families SET revoked_at = now(), revoked_reason = 'reuse' WHERE id = $1 AND revoked_at IS NULL", [token.family_id])
          return { outcome: 'reused', familyId: token.family_id, userId: token.user_id }
        }
        if (token.revoked_at !== null || new Date(token.expires_at).getTime() <= Date.now()) return { outcome: 'invalid' }
        await tx.query('UPDATE refresh_tokens SET rotated_at = now() WHERE digest = $1', [digest])
        await tx.query('INSERT INTO refresh_tokens (digest, family_id) VALUES ($1, $2)', [nextDigest, token.family_id])
        return { outcome: 'rotated', familyId: token.family_id, userId: token.user_id, scope: token.scope }
      })
    },
    async revokeByToken (digest) {
      const [row] = await db.query<{ id: string, user_id: string }>(
        `UPDATE refresh_families f SET revoked_at = COALESCE(f.revoked_at, now()), revoked_reason = COALESCE(f.revoked_reason, 'revoked')
           FROM refresh_tokens t WHERE t.digest = $1 AND t.family_id = f.id RETURNING f.id, f.user_id`, [digest])
      return row === undefined ? null : { familyId: row.id, userId: row.user_id }
    },
    async revokeUser (userId, reason) {
      const rows = await db.query<{ id: string }>(
        'UPDATE refresh_families SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id', [userId, reason])
      return rows.map((r) => r.id)
    }
  }
}
