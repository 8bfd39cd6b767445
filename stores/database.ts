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
}

/** Ids are UUIDs; anything else cannot name a row, so stores answer "none" without a query. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
