import { applyMigrations, migrateWarden, type Database, type Migration } from '../stores/index.js'

/**
 * The reference app's own tables (users), after fastify-warden's (stores/sql/migrations.ts). The same SQL
 * runs on PGlite and on a PostgreSQL server. One migration until a release: the next change after
 * one is the next step, and a released step is never edited.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users',
    // A user name is unique by its canonical form (canonicalUsername: NFKC, trimmed, case-folded),
    // so 'Ada' and 'ada' cannot be two accounts; the app fills username_key (JavaScript's folding,
    // not the database's locale). credential_version grows with every password change: a login
    // that checked an older one gets no session.
    sql: `
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        username text NOT NULL UNIQUE,
        email text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        role text NOT NULL CHECK (role IN ('user', 'moderator', 'admin')),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        password_changed_at timestamptz NOT NULL DEFAULT now(),
        username_key text NOT NULL,
        credential_version bigint NOT NULL DEFAULT 1
      );
      CREATE UNIQUE INDEX users_username_canonical ON users (username_key);
    `
  }
]

/** Bring the reference app's schema up to date (fastify-warden's tables first); safe to call from several instances at once. */
export async function migrate (db: Database): Promise<number[]> {
  await migrateWarden(db)
  return await applyMigrations(db, 'schema_migrations', 7_423_010, MIGRATIONS)
}
