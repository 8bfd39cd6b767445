import t from 'tap'
import { randomUUID } from 'node:crypto'
import { testDatabase, postgresSkip, redisSkip, closeSharedDatabase, REDIS_URL, type Backend } from '../helpers/services.js'
import { sqlUserStore } from '../../app/users.js'
import { sqlRefreshTokenStore } from '../../stores/sql/refresh-tokens.js'
import { sqlRevocationStore } from '../../stores/sql/revocations.js'
import { RevocationList } from '../../stores/revocation-list.js'
import { migrate } from '../../app/migrations.js'
import { Redis } from 'ioredis'
import { inForce } from './revocation-helpers.js'

t.teardown(closeSharedDatabase)
const skip: Record<Backend, string | false> = { pglite: false, postgres: await postgresSkip() }
const later = (s: number): number => Math.floor(Date.now() / 1000) + s

for (const backend of ['pglite', 'postgres'] as const) {
  t.test(`${backend}: refresh tokens rotate, and a reused one revokes its family`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const user = await sqlUserStore(db).create({ username: 'u', email: 'u@example.com', passwordHash: 'h', role: 'user' })
    const store = sqlRefreshTokenStore(db)
    const familyId = await store.createFamily({ subject: user.id, scope: 'users:read', clientId: 'app', expiresAt: new Date(Date.now() + 60_000), digest: 'r1', successorKey: 'k' })
    const family = { familyId, subject: user.id, scope: 'users:read', clientId: 'app', credential: null }
    t.same(await store.find('r1'), { ...family, rotatedAt: null, successorKey: 'k' }, 'find reads a live token without rotating it')
    t.same(await store.rotate('r1', 'r2', 0), { outcome: 'rotated', ...family })
    t.match(await store.find('r1'), { ...family, rotatedAt: Number }, 'a rotated token is found with its rotation time (a retry is told from a reuse by it)')
    t.same(await store.rotate('r2', 'r3', 0), { outcome: 'rotated', ...family })
    t.same(await store.rotate('r1', 'r9', 0), { outcome: 'reused', familyId, subject: user.id }, 'r1 was rotated already')
    t.equal(await store.find('r3'), null, 'nothing of a revoked family is live')
    t.same(await store.rotate('r3', 'r4', 0), { outcome: 'invalid' }, 'the newest token of a revoked family is dead too')
    t.same(await store.rotate('unknown', 'x', 0), { outcome: 'invalid' })
    await db.close()
  })

  t.test(`${backend}: two concurrent uses of one refresh token: one rotates, the other is reuse`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const user = await sqlUserStore(db).create({ username: 'u', email: 'u@example.com', passwordHash: 'h', role: 'user' })
    const store = sqlRefreshTokenStore(db)
    await store.createFamily({ subject: user.id, scope: '', clientId: 'public', expiresAt: new Date(Date.now() + 60_000), digest: 'r1', successorKey: 'k' })
    const outcomes = (await Promise.all([store.rotate('r1', 'a', 0), store.rotate('r1', 'b', 0)])).map((r) => r.outcome).sort()
    t.same(outcomes, ['reused', 'rotated'])
    await db.close()
  })

  t.test(`${backend}: expired families, revocation by token and by user`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const user = await sqlUserStore(db).create({ username: 'u', email: 'u@example.com', passwordHash: 'h', role: 'user' })
    const store = sqlRefreshTokenStore(db)
    await store.createFamily({ subject: user.id, scope: '', clientId: 'public', expiresAt: new Date(Date.now() - 1), digest: 'old', successorKey: 'k' })
    t.same(await store.rotate('old', 'x', 0), { outcome: 'invalid' }, 'the absolute lifetime is enforced')
    const f1 = await store.createFamily({ subject: user.id, scope: '', clientId: 'public', expiresAt: new Date(Date.now() + 60_000), digest: 'a1', successorKey: 'k' })
    const f2 = await store.createFamily({ subject: user.id, scope: '', clientId: 'public', expiresAt: new Date(Date.now() + 60_000), digest: 'b1', successorKey: 'k' })
    t.same(await store.revokeByToken('a1'), { familyId: f1, subject: user.id })
    t.same(await store.rotate('a1', 'a2', 0), { outcome: 'invalid' })
    t.equal(await store.revokeByToken('nope'), null)
    t.same(await store.revokeSubject(user.id, 'password changed'), [f2])
    t.same(await store.rotate('b1', 'b2', 0), { outcome: 'invalid' })
    await db.query("UPDATE warden_refresh_families SET revoked_at = now() - interval '2 days' WHERE id = $1", [f2])
    t.equal(await store.purge(), 2, 'the expired family and the one revoked days ago are deleted')
    t.same((await db.query<{ id: string }>('SELECT id FROM warden_refresh_families')).map((r) => r.id), [f1], 'a family revoked today stays, so reuse is still recognised')
    t.same(await db.query("SELECT digest FROM warden_refresh_tokens WHERE digest IN ('old', 'b1')"), [], 'with its tokens')
    await db.close()
  })

  t.test(`${backend}: a session belongs to any subject, not only a row of users`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const store = sqlRefreshTokenStore(db)
    const familyId = await store.createFamily({ subject: 'auth0|5f7c8ec7c33c6c004bbafe82', scope: '', clientId: 'spa', expiresAt: new Date(Date.now() + 60_000), digest: 'x1', successorKey: 'k' })
    t.same(await store.rotate('x1', 'x2', 0), { outcome: 'rotated', familyId, subject: 'auth0|5f7c8ec7c33c6c004bbafe82', scope: '', clientId: 'spa', credential: null })
    await db.close()
  })

  t.test(`${backend}: revocations persist until their tokens expire`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const store = sqlRevocationStore(db)
    // One instant for the whole test: a second boundary between two later() calls must not matter.
    const inAMinute = later(60)
    await store.add([{ kind: 'jti', id: 'j1', expiresAt: inAMinute }, { kind: 'sid', id: 's1', expiresAt: inAMinute }, { kind: 'jti', id: 'gone', expiresAt: later(-5) }])
    await store.add([{ kind: 'jti', id: 'j1', expiresAt: inAMinute - 30 }])
    t.same((await inForce(store)).sort((a, b) => a.id.localeCompare(b.id)), [{ kind: 'jti', id: 'j1', expiresAt: inAMinute }, { kind: 'sid', id: 's1', expiresAt: inAMinute }])
    t.equal(await store.purge(), 1)
    const list = await RevocationList.open({ store })
    t.equal(list.isRevoked({ jti: 'j1' }), true)
    t.equal(list.isRevoked({ jti: 'x', sid: 's1' }), true)
    t.equal(list.isRevoked({ jti: 'x', sid: 'y' }), false)
    t.equal(list.isRevoked({}), false)
    await list.revoke([{ kind: 'jti', id: 'j2', expiresAt: later(60) }])
    t.equal(list.isRevoked({ jti: 'j2' }), true)
    t.ok((await inForce(store)).some((r) => r.id === 'j2'), 'persisted')
    await list.close()
    await db.close()
  })
}

t.test('migrations are recorded and run once', async (t) => {
  const db = await testDatabase(t, 'pglite')
  t.same(await migrate(db), [], 'already applied')
  t.same(await db.query('SELECT version, name FROM warden_migrations ORDER BY version'), [{ version: 1, name: 'sessions, revocations and API keys' }, { version: 2, name: 'credential versions and retried refreshes' }, { version: 3, name: 'incremental revocation reads' }], 'the library\'s tables, tracked apart')
  t.same(await db.query('SELECT version, name FROM schema_migrations ORDER BY version'), [{ version: 1, name: 'identity' }, { version: 2, name: 'sessions and API keys in the warden tables' }, { version: 3, name: 'canonical user names and credential versions' }])
  t.same((await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name")).map((r) => r.table_name),
    ['schema_migrations', 'users', 'warden_api_keys', 'warden_credentials', 'warden_migrations', 'warden_refresh_families', 'warden_refresh_tokens', 'warden_revocations'])
})

t.test('two instances sharing Redis: a revocation through one is refused by the other at once', { skip: skip.postgres || await redisSkip() }, async (t) => {
  const db = await testDatabase(t, 'postgres')
  const namespace = `test-${randomUUID()}`
  const heard: string[] = []
  const redis = new Redis(REDIS_URL)
  const a = await RevocationList.open({ store: sqlRevocationStore(db), redis, namespace, pollInterval: 3_600_000 })
  const b = await RevocationList.open({ store: sqlRevocationStore(db), redis, namespace, pollInterval: 3_600_000, onApiKeyRevoked: (p) => heard.push(p) })
  t.teardown(async () => { await a.close(); await b.close(); await redis.quit() })
  // Told when the message arrives: no sleep, no polling.
  const arrived = new Promise<readonly unknown[]>((resolve) => { b.onRevoked(resolve) })
  const keyArrived = new Promise<string>((resolve) => { b.onApiKeyRevoked(resolve) })
  await a.revoke([{ kind: 'sid', id: 'session-1', expiresAt: later(60) }])
  await a.revokeApiKey('AbCd1234')
  t.match(await arrived, [{ kind: 'sid', id: 'session-1' }], 'the other instance hears of the revocation')
  t.equal(b.isRevoked({ sid: 'session-1' }), true, 'heard through pub/sub, not the 1-hour poll')
  t.equal(await keyArrived, 'AbCd1234')
  t.same(heard, ['AbCd1234'])
  const c = await RevocationList.open({ store: { add: async () => {}, mark: async () => '', changes: async (from) => ({ revocations: [], next: from }), purge: async () => 0 }, redis, namespace })
  t.equal(c.isRevoked({ sid: 'session-1' }), true, 'a new instance reads the revoked ids cached in Redis')
  await c.close()
  t.equal(redis.status, 'ready', 'the app\'s client stays open: the lists closed only the subscribers they made')
})

t.test('expiry follows the stores\' clock: a refresh token and a revocation end when it passes them, without waiting', async (t) => {
  const db = await testDatabase(t, 'pglite')
  let clock = Date.now()
  const now = (): number => clock
  const store = sqlRefreshTokenStore(db, now)
  await store.createFamily({ subject: 's', scope: '', clientId: 'public', expiresAt: new Date(clock + 60_000), digest: 'f1', successorKey: 'k' })
  t.match(await store.find('f1'), { subject: 's' }, 'live before its expiry')
  clock += 60_000
  t.equal(await store.find('f1'), null, 'gone at its expiry')
  t.same(await store.rotate('f1', 'f2', 0), { outcome: 'invalid' }, 'and cannot be rotated')

  const list = await RevocationList.open({ store: sqlRevocationStore(db), pollInterval: 3_600_000, now })
  t.teardown(async () => { await list.close() })
  const told: unknown[] = []
  list.onRevoked((r) => told.push(...r))
  await list.revoke([{ kind: 'jti', id: 'j1', expiresAt: Math.floor(clock / 1000) + 30 }])
  t.match(told, [{ kind: 'jti', id: 'j1' }], 'listeners hear of a revocation made here too')
  t.equal(list.isRevoked({ jti: 'j1' }), true)
  clock += 29_000
  t.equal(list.isRevoked({ jti: 'j1' }), true, 'in force until its end')
  clock += 1_000
  t.equal(list.isRevoked({ jti: 'j1' }), false, 'no token naming it can be valid any more: dropped')
})

t.test('expired sessions and revocations are purged on a schedule', async (t) => {
  const db = await testDatabase(t, 'pglite')
  const { openStores } = await import('../../app/stores.js')
  const stores = await openStores({ database: db, purgeInterval: 20 })
  await stores.refreshTokens.createFamily({ subject: 's', scope: '', clientId: 'public', expiresAt: new Date(Date.now() - 1000), digest: 'expired', successorKey: 'k' })
  await stores.refreshTokens.createFamily({ subject: 's', scope: '', clientId: 'public', expiresAt: new Date(Date.now() + 60_000), digest: 'live', successorKey: 'k' })
  await sqlRevocationStore(db).add([{ kind: 'jti', id: 'old', expiresAt: later(-10) }, { kind: 'jti', id: 'new', expiresAt: later(60) }])
  const count = async () => (await db.query<{ f: number, r: number }>('SELECT (SELECT count(*) FROM warden_refresh_families)::int AS f, (SELECT count(*) FROM warden_revocations)::int AS r'))[0]
  const deadline = Date.now() + 5000
  while (JSON.stringify(await count()) !== JSON.stringify({ f: 1, r: 1 }) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.same(await count(), { f: 1, r: 1 }, 'only the live family and the revocation in force are left, without anyone calling purge()')
  await stores.close()
})

t.test('upgrading a database of the first schema keeps its sessions, revocations and API keys', async (t) => {
  const { openPglite } = await import('../../stores/sql/pglite.js')
  const { applyMigrations, migrateWarden } = await import('../../stores/sql/migrations.js')
  const { MIGRATIONS } = await import('../../app/migrations.js')
  const db = await openPglite()
  t.teardown(() => db.close())
  await migrateWarden(db)
  await applyMigrations(db, 'schema_migrations', 7_423_010, MIGRATIONS.slice(0, 1))
  const [user] = await db.query<{ id: string }>("INSERT INTO users (username, email, password_hash, role) VALUES ('U', 'u@example.com', 'h', 'user') RETURNING id")
  const [family] = await db.query<{ id: string }>("INSERT INTO refresh_families (user_id, scope, expires_at) VALUES ($1, 'users:read', now() + interval '1 day') RETURNING id", [user.id])
  await db.query("INSERT INTO refresh_tokens (digest, family_id) VALUES ('d1', $1)", [family.id])
  await db.query("INSERT INTO revocations (kind, id, expires_at) VALUES ('jti', 'j1', now() + interval '1 hour')")
  await db.query("INSERT INTO api_keys (user_id, name, prefix, digest, scopes) VALUES ($1, 'ci', 'AbCd1234', 'kd', '{users:read}')", [user.id])
  t.same(await migrate(db), [2, 3])
  t.match(await sqlUserStore(db).findByUsername('u'), { id: user.id }, 'the user is found by the canonical name filled in for it')
  t.same(await sqlRefreshTokenStore(db).find('d1'), { familyId: family.id, subject: user.id, scope: 'users:read', clientId: 'public', credential: null, rotatedAt: null, successorKey: null }, 'the session goes on')
  t.same((await inForce(sqlRevocationStore(db))).map((r) => r.id), ['j1'])
  const { sqlApiKeyStore } = await import('../../stores/sql/api-keys.js')
  t.match(await sqlApiKeyStore(db).findByPrefix('AbCd1234'), { subject: user.id, digest: 'kd', scopes: ['users:read'] })
  t.same(await db.query("SELECT table_name FROM information_schema.tables WHERE table_name IN ('refresh_families', 'refresh_tokens', 'revocations', 'api_keys')"), [], 'the old tables are gone')
})
