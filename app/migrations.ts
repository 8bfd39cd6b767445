import { applyMigrations, migrateWarden, type Database, type Migration } from '../stores/index.js'

/**
 * The reference app's own tables (users), after fastify-warden's (stores/sql/migrations.ts). The same SQL
 * runs on PGlite and on a PostgreSQL server. Never edit a released migration: add the next one.
 */
export const MIGRATIONS: readonly Migration[] = [
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
    name: 'sessions and API keys in the warden tables',
    // Sessions, revocations and API keys moved to fastify-warden's own stores (any subject, any
    // app); what the identity tables held is carried over, so no one is logged out.
    sql: `
      INSERT INTO warden_refresh_families (id, subject, client_id, scope, created_at, expires_at, revoked_at, revoked_reason)
        SELECT id, user_id::text, 'public', scope, created_at, expires_at, revoked_at, revoked_reason FROM refresh_families;
      INSERT INTO warden_refresh_tokens (digest, family_id, created_at, rotated_at)
        SELECT digest, family_id, created_at, rotated_at FROM refresh_tokens;
      INSERT INTO warden_revocations (kind, id, expires_at) SELECT kind, id, expires_at FROM revocations;
      INSERT INTO warden_api_keys (id, subject, name, prefix, digest, scopes, expires_at, created_at, revoked_at, last_used_at, request_count)
        SELECT id, user_id::text, name, prefix, digest, scopes, expires_at, created_at, revoked_at, last_used_at, request_count FROM api_keys;
      DROP TABLE refresh_tokens;
      DROP TABLE refresh_families;
      DROP TABLE revocations;
      DROP TABLE api_keys;
    `
  },
  {
    version: 3,
    name: 'canonical user names and credential versions',
    // A user name is unique by its canonical form (canonicalUsername: NFKC, trimmed, case-folded),
    // so 'Ada' and 'ada' cannot be two accounts; the app fills the column (JavaScript's folding,
    // not the database's locale). credential_version grows with every password change: a login
    // that checked an older one gets no session.
    sql: `
      ALTER TABLE users ADD COLUMN username_key text;
      UPDATE users SET username_key = lower(normalize(btrim(username), NFKC));
      ALTER TABLE users ALTER COLUMN username_key SET NOT NULL;
      CREATE UNIQUE INDEX users_username_canonical ON users (username_key);
      ALTER TABLE users ADD COLUMN credential_version bigint NOT NULL DEFAULT 1;
    `
  }
]

/** Bring the reference app's schema up to date (fastify-warden's tables first); safe to call from several instances at once. */
export async function migrate (db: Database): Promise<number[]> {
  await migrateWarden(db)
  return await applyMigrations(db, 'schema_migrations', 7_423_010, MIGRATIONS)
}
