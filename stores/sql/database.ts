import type { WardenErrorCode } from '../../plugins/errors.js'

/**
 * The one SQL interface every store uses. Two backends implement it: PGlite (embedded
 * PostgreSQL, the default) and a PostgreSQL server through `pg`. Queries use `$1` parameters
 * only: no value is ever spliced into SQL text.
 */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>
}

export interface Database extends Queryable {
  /** Run `fn` in one transaction; it commits when `fn` resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  close(): Promise<void>
  /**
   * Be told when the server stops answering (a dropped or refused connection) and when it answers
   * again: give it an `Availability`, which logs each change once. The embedded database has no
   * connection to lose and does not implement it.
   */
  watch?(observer: DatabaseObserver): void
}

export interface DatabaseObserver {
  failed (err: Error): void
  succeeded (): void
}

/**
 * The database server did not answer: a connection dropped, refused or timed out, a server
 * shutting down. Not the request's fault, and not a bug: the core answers it 503 with
 * Retry-After (its code is `WARDEN_ERR_UNAVAILABLE` of plugins/errors.ts, which stores may
 * not import), and says nothing of the cause.
 */
export class DatabaseUnavailable extends Error {
  readonly code: WardenErrorCode = 'WARDEN_ERR_UNAVAILABLE'
  readonly statusCode = 503

  constructor (cause: unknown) {
    super(`database unavailable: ${(cause as Error | undefined)?.message ?? String(cause)}`, { cause })
    this.name = 'DatabaseUnavailable'
  }
}

/** Ids are UUIDs; anything else cannot name a row, so stores answer "none" without a query. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
