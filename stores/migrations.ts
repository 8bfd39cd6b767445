import type { Database } from './database.js'

/**
 * Versioned migrations, applied in order, each in its own transaction, once. The same SQL runs
 * on PGlite and on a PostgreSQL server. Never edit a released migration: add the next one.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number, name: string, sql: string }> = [
  {
    version: 1,
    name: 'identity',
    sql: `
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        username text NOT NULL UNIQUE,
        email text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        role text NOT NULL CHECK (role IN ('user', 'moderator', 'admin')),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        password_changed_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
      CREATE INDEX api_keys_user ON api_keys (user_id);

      -- One family per login; every refresh token of the family is kept (as a digest) so that
      -- presenting an already-rotated one is recognised as reuse.
      CREATE TABLE refresh_families (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        scope text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text
      );
      CREATE INDEX refresh_families_user ON refresh_families (user_id);

      CREATE TABLE refresh_tokens (
        digest text PRIMARY KEY,
        family_id uuid NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        rotated_at timestamptz
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

      -- Revoked access-token ids (jti) and sessions (sid), kept until no token naming them can be valid.
      CREATE TABLE revocations (
        kind text NOT NULL CHECK (kind IN ('jti', 'sid')),
        id text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (kind, id)
      );
    `
  },
  {
    version: 2,
    name: 'sessions of any subject',
    // The token endpoint is a plugin for any app: a session belongs to a subject (a user id of
    // whatever shape, or a client) and to the client it was issued to, not to a row of users.
    sql: `
      ALTER TABLE refresh_families DROP CONSTRAINT refresh_families_user_id_fkey;
      ALTER TABLE refresh_families ALTER COLUMN user_id TYPE text USING user_id::text;
      ALTER TABLE refresh_families RENAME COLUMN user_id TO subject;
      ALTER INDEX refresh_families_user RENAME TO refresh_families_subject;
      ALTER TABLE refresh_families ADD COLUMN client_id text NOT NULL DEFAULT 'public';
      CREATE INDEX refresh_families_expires ON refresh_families (expires_at);
      CREATE INDEX revocations_expires ON revocations (expires_at);
    `
  }
]

/** Bring the schema up to date; safe to call from several instances at once. */
export async function migrate (db: Database): Promise<number[]> {
  return await db.transaction(async (tx) => {
    // One migrator at a time across instances sharing a server.
    await tx.query('SELECT pg_advisory_xact_lock(7423010)')
    await tx.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())')
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version))
    const applied: number[] = []
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue
      for (const statement of migration.sql.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean)) {
        await tx.query(statement)
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
      applied.push(migration.version)
    }
    return applied
  })
}
