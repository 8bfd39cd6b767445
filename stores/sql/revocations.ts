import type { Revocation } from '../../plugins/oauth2-server/session-store.js'
import { UUID, type Queryable } from './database.js'

export type { Revocation }
export type RevocationKind = Revocation['kind']

/** One page of revocations read from a store, and where the next page starts. */
export interface RevocationPage {
  revocations: Revocation[]
  /** Pass to `changes` for the next page; equal to the position given when the page is empty. */
  next: string
}

export interface RevocationStore {
  add (revocations: readonly Revocation[]): Promise<void>
  /**
   * A position in the store's history: every revocation added (or extended) after it is taken is
   * in the pages read from it. Taken before a read, it is where the next read starts.
   */
  mark (): Promise<string>
  /**
   * Up to `limit` revocations still in force, added or extended at or after `from` (a `mark()`, a
   * page's `next`, or `''` for every one), in a stable order: the reread of what changed.
   */
  changes (from: string, limit: number): Promise<RevocationPage>
  /** Forget the ones whose tokens have expired. */
  purge (): Promise<number>
}

interface Row { kind: RevocationKind, id: string, expires: number, xid: string }

/**
 * A position is the `added` transaction id and key of the last row read, as JSON. A mark is the
 * oldest transaction still running when it was taken (`pg_snapshot_xmin`): a row whose
 * transaction id is below it was committed (or rolled back) before the mark, so a read that
 * starts after the mark sees it; a row at or above it may commit later, whatever its order, and
 * is read by the next read. A plain sequence would not do: two inserts can commit in the other
 * order than their numbers, and a reread from the highest number seen would miss the first.
 */
function position (from: string): [string, string, string] {
  return from === '' ? ['0', '', ''] : JSON.parse(from) as [string, string, string]
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
      // An extension is a change the other instances must reread: it takes this transaction's id.
      await db.query(
        `INSERT INTO warden_revocations (kind, id, expires_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
         ON CONFLICT (kind, id) DO UPDATE SET expires_at = EXCLUDED.expires_at, added = DEFAULT
         WHERE warden_revocations.expires_at < EXCLUDED.expires_at`,
        [revocations.map((r) => r.kind), revocations.map((r) => r.id), revocations.map((r) => new Date(r.expiresAt * 1000).toISOString())])
    },
    async mark () {
      const [row] = await db.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin')
      return JSON.stringify([row.xmin, '', ''])
    },
    async changes (from, limit) {
      const rows = await db.query<Row>(
        `SELECT kind, id, floor(extract(epoch FROM expires_at))::float8 AS expires, added::text AS xid FROM warden_revocations
         WHERE (added, kind, id) > ($1::xid8, $2, $3) AND expires_at > now()
         ORDER BY added, kind, id LIMIT $4`, [...position(from), limit])
      const last = rows.at(-1)
      return {
        revocations: rows.map((r) => ({ kind: r.kind, id: r.id, expiresAt: r.expires })),
        next: last === undefined ? from : JSON.stringify([last.xid, last.kind, last.id])
      }
    },
    async purge () {
      return (await db.query('DELETE FROM warden_revocations WHERE expires_at <= now() RETURNING id')).length
    }
  }
}
