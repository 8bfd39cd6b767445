import type { Revocation } from '../plugins/oauth2-server/session-store.js'
import { UUID, type Queryable } from './database.js'

export type { Revocation }
export type RevocationKind = Revocation['kind']

export interface RevocationStore {
  add (revocations: readonly Revocation[]): Promise<void>
  /** Every revocation still in force. */
  active (): Promise<Revocation[]>
  /** Forget the ones whose tokens have expired. */
  purge (): Promise<number>
}

export function sqlRevocationStore (db: Queryable): RevocationStore {
  return {
    async add (revocations) {
      if (revocations.length === 0) return
      // A session revoked by its sid is over for good: its family too, not only its access
      // tokens for as long as they live (the sid's revocation expires with them).
      const sessions = revocations.filter((r) => r.kind === 'sid' && UUID.test(r.id)).map((r) => r.id)
      if (sessions.length > 0) {
        await db.query(
          "UPDATE warden_refresh_families SET revoked_at = now(), revoked_reason = 'revoked' WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL", [sessions])
      }
      await db.query(
        `INSERT INTO warden_revocations (kind, id, expires_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
         ON CONFLICT (kind, id) DO UPDATE SET expires_at = GREATEST(warden_revocations.expires_at, EXCLUDED.expires_at)`,
        [revocations.map((r) => r.kind), revocations.map((r) => r.id), revocations.map((r) => new Date(r.expiresAt * 1000).toISOString())])
    },
    async active () {
      const rows = await db.query<{ kind: RevocationKind, id: string, expires_at: Date }>('SELECT kind, id, expires_at FROM warden_revocations WHERE expires_at > now()')
      return rows.map((r) => ({ kind: r.kind, id: r.id, expiresAt: Math.floor(new Date(r.expires_at).getTime() / 1000) }))
    },
    async purge () {
      return (await db.query('DELETE FROM warden_revocations WHERE expires_at <= now() RETURNING id')).length
    }
  }
}
