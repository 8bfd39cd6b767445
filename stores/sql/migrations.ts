import type { Database, Queryable } from './database.js'

/** A versioned step of a schema; released steps are never edited, the next one is added. */
export interface Migration {
  version: number
  name: string
  sql: string
}

/** The credential version of a subject that is gone: greater than any a login can report. */
export const GONE = '9223372036854775807'

/**
 * The tables of fastify-warden's stores, all named `warden_…` so they sit beside an app's own
 * tables (its `users` among them) without a clash. A subject is text: a user id of any shape, or
 * a client id. One migration until a release: the next change after one is the next step.
 */
export const WARDEN_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, credential versions, revocations and API keys',
    sql: `
      -- One family per login; every refresh token of the family is kept (as a digest) so that
      -- presenting an already-rotated one is recognised as reuse. credential: the version the
      -- login checked; successor_key: what its successors are derived with (a retry within the
      -- reuse interval gets the same successor); auth_time and acr: when and how the login
      -- authenticated the user, which every access token of the family carries (RFC 9470); jkt:
      -- the DPoP key thumbprint its refresh tokens are bound to (a public client's, RFC 9449 §5).
      CREATE TABLE warden_refresh_families (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        subject text NOT NULL,
        client_id text NOT NULL,
        scope text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text,
        credential bigint,
        successor_key text,
        auth_time timestamptz,
        acr text,
        jkt text
      );
      CREATE INDEX warden_refresh_families_subject ON warden_refresh_families (subject);
      CREATE INDEX warden_refresh_families_expires ON warden_refresh_families (expires_at);

      CREATE TABLE warden_refresh_tokens (
        digest text PRIMARY KEY,
        family_id uuid NOT NULL REFERENCES warden_refresh_families (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        rotated_at timestamptz
      );
      CREATE INDEX warden_refresh_tokens_family ON warden_refresh_tokens (family_id);

      -- The current credential version of each subject that has one: a session is started only
      -- for a login that checked it. ${GONE} marks a subject that is gone (no version reaches it).
      CREATE TABLE warden_credentials (
        subject text PRIMARY KEY,
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      -- Revoked access-token ids (jti) and sessions (sid), kept until no token naming them can be
      -- valid. added: the transaction that added (or last extended) a revocation, so each instance
      -- rereads only the rows added since its last read (stores/sql/revocations.ts says why not a
      -- sequence).
      CREATE TABLE warden_revocations (
        kind text NOT NULL CHECK (kind IN ('jti', 'sid')),
        id text NOT NULL,
        expires_at timestamptz NOT NULL,
        added xid8 NOT NULL DEFAULT pg_current_xact_id(),
        PRIMARY KEY (kind, id)
      );
      CREATE INDEX warden_revocations_expires ON warden_revocations (expires_at);
      CREATE INDEX warden_revocations_added ON warden_revocations (added, kind, id);

      -- API keys as HMAC digests (never the keys), looked up by their public prefix.
      CREATE TABLE warden_api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        subject text NOT NULL,
        name text NOT NULL,
        prefix text NOT NULL UNIQUE,
        digest text NOT NULL,
        scopes text[] NOT NULL,
        expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        last_used_at timestamptz,
        request_count bigint NOT NULL DEFAULT 0
      );
      CREATE INDEX warden_api_keys_subject ON warden_api_keys (subject);
    `
  }
]

/**
 * Apply the steps of `migrations` not yet recorded in `table`, in order, in one transaction,
 * under an advisory lock so several instances starting at once migrate once.
 */
export async function applyMigrations (db: Database, table: string, lock: number, migrations: readonly Migration[]): Promise<number[]> {
  return await db.transaction(async (tx: Queryable) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [lock])
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const done = new Set((await tx.query<{ version: number }>(`SELECT version FROM ${table}`)).map((r) => r.version))
    const applied: number[] = []
    for (const migration of migrations) {
      if (done.has(migration.version)) continue
      for (const statement of migration.sql.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean)) {
        await tx.query(statement)
      }
      await tx.query(`INSERT INTO ${table} (version, name) VALUES ($1, $2)`, [migration.version, migration.name])
      applied.push(migration.version)
    }
    return applied
  })
}

/** Bring fastify-warden's tables up to date; safe to call from several instances at once. */
export async function migrateWarden (db: Database): Promise<number[]> {
  return await applyMigrations(db, 'warden_migrations', 7_423_011, WARDEN_MIGRATIONS)
}
