import t from 'tap'
import { randomUUID } from 'node:crypto'
import { testDatabase, postgresSkip, redisSkip, closeSharedDatabase, REDIS_URL, type Backend } from '../helpers/services.js'
import { sqlRevocationStore } from '../../stores/sql/revocations.js'
import { RevocationList } from '../../stores/revocation-list.js'
import { migrate } from '../../app/migrations.js'
import { Redis } from 'ioredis'
import { inForce } from './revocation-helpers.js'

t.teardown(closeSharedDatabase)
const skip: Record<Backend, string | false> = { pglite: false, postgres: await postgresSkip() }
const later = (s: number): number => Math.floor(Date.now() / 1000) + s

// The refresh-token stores' contract runs on every store: contract/sessions.ts, sessions-*.test.ts.
for (const backend of ['pglite', 'postgres'] as const) {
  t.test(`${backend}: revocations persist until their tokens expire`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const store = sqlRevocationStore(db)
    // One instant for the whole test: a second boundary between two later() calls must not matter.
    const inAMinute = later(60)
    await store.add([
      { kind: 'jti', id: 'j1', expiresAt: inAMinute },
      { kind: 'sid', id: 's1', expiresAt: inAMinute },
      { kind: 'jti', id: 'gone', expiresAt: later(-5) }
    ])
    await store.add([{ kind: 'jti', id: 'j1', expiresAt: inAMinute - 30 }])
    t.same(
      (await inForce(store)).sort((a, b) => a.id.localeCompare(b.id)),
      [
        { kind: 'jti', id: 'j1', expiresAt: inAMinute },
        { kind: 'sid', id: 's1', expiresAt: inAMinute }
      ]
    )
    t.equal(await store.purge(), 1)
    const list = await RevocationList.open({ store })
    t.equal(list.isRevoked({ jti: 'j1' }), true)
    t.equal(list.isRevoked({ jti: 'x', sid: 's1' }), true)
    t.equal(list.isRevoked({ jti: 'x', sid: 'y' }), false)
    t.equal(list.isRevoked({}), false)
    await list.revoke([{ kind: 'jti', id: 'j2', expiresAt: later(60) }])
    t.equal(list.isRevoked({ jti: 'j2' }), true)
    t.ok(
      (await inForce(store)).some((r) => r.id === 'j2'),
      'persisted'
    )
    await list.close()
    await db.close()
  })
}

t.test('migrations are recorded and run once; at 0.1.0 each house has one', async (t) => {
  const db = await testDatabase(t, 'pglite')
  t.same(await migrate(db), [], 'already applied')
  t.same(
    await db.query('SELECT version, name FROM warden_migrations ORDER BY version'),
    [{ version: 1, name: 'sessions, credential versions, revocations and API keys' }],
    "the library's tables, tracked apart"
  )
  t.same(await db.query('SELECT version, name FROM schema_migrations ORDER BY version'), [{ version: 1, name: 'users' }])
  t.same(
    (await db.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name')).map(
      (r) => r.table_name
    ),
    [
      'schema_migrations',
      'users',
      'warden_api_keys',
      'warden_credentials',
      'warden_migrations',
      'warden_refresh_families',
      'warden_refresh_tokens',
      'warden_revocations'
    ]
  )
  const columns = async (table: string): Promise<string[]> =>
    (
      await db.query<{ c: string }>(
        `SELECT column_name || ' ' || udt_name AS c FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
        [table]
      )
    ).map((r) => r.c)
  t.same(await columns('warden_revocations'), ['kind text', 'id text', 'expires_at timestamptz', 'added xid8'], 'incremental reads by transaction id')
  t.same((await columns('warden_refresh_families')).slice(-5), ['credential int8', 'successor_key text', 'auth_time timestamptz', 'acr text', 'jkt text'])
  t.same((await columns('users')).slice(-2), ['username_key text', 'credential_version int8'])
})

t.test('two instances sharing Redis: a revocation through one is refused by the other at once', { skip: skip.postgres || (await redisSkip()) }, async (t) => {
  const db = await testDatabase(t, 'postgres')
  const namespace = `test-${randomUUID()}`
  const heard: string[] = []
  const redis = new Redis(REDIS_URL)
  const a = await RevocationList.open({ store: sqlRevocationStore(db), redis, namespace, pollInterval: 3_600_000 })
  const b = await RevocationList.open({ store: sqlRevocationStore(db), redis, namespace, pollInterval: 3_600_000, onApiKeyRevoked: (p) => heard.push(p) })
  t.teardown(async () => {
    await a.close()
    await b.close()
    await redis.quit()
  })
  // Told when the message arrives: no sleep, no polling.
  const arrived = new Promise<readonly unknown[]>((resolve) => {
    b.onRevoked(resolve)
  })
  const keyArrived = new Promise<string>((resolve) => {
    b.onApiKeyRevoked(resolve)
  })
  await a.revoke([{ kind: 'sid', id: 'session-1', expiresAt: later(60) }])
  await a.revokeApiKey('AbCd1234')
  t.match(await arrived, [{ kind: 'sid', id: 'session-1' }], 'the other instance hears of the revocation')
  t.equal(b.isRevoked({ sid: 'session-1' }), true, 'heard through pub/sub, not the 1-hour poll')
  t.equal(await keyArrived, 'AbCd1234')
  t.same(heard, ['AbCd1234'])
  const c = await RevocationList.open({
    store: { add: async () => {}, mark: async () => '', changes: async (from) => ({ revocations: [], next: from }), purge: async () => 0 },
    redis,
    namespace
  })
  t.equal(c.isRevoked({ sid: 'session-1' }), true, 'a new instance reads the revoked ids cached in Redis')
  await c.close()
  t.equal(redis.status, 'ready', "the app's client stays open: the lists closed only the subscribers they made")
})

t.test("expiry follows the stores' clock: a revocation ends when it passes it, without waiting", async (t) => {
  const db = await testDatabase(t, 'pglite')
  let clock = Date.now()
  const now = (): number => clock
  const list = await RevocationList.open({ store: sqlRevocationStore(db), pollInterval: 3_600_000, now })
  t.teardown(async () => {
    await list.close()
  })
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
  await stores.refreshTokens.createFamily({
    subject: 's',
    scope: '',
    clientId: 'public',
    expiresAt: new Date(Date.now() - 1000),
    digest: 'expired',
    successorKey: 'k'
  })
  await stores.refreshTokens.createFamily({
    subject: 's',
    scope: '',
    clientId: 'public',
    expiresAt: new Date(Date.now() + 60_000),
    digest: 'live',
    successorKey: 'k'
  })
  await sqlRevocationStore(db).add([
    { kind: 'jti', id: 'old', expiresAt: later(-10) },
    { kind: 'jti', id: 'new', expiresAt: later(60) }
  ])
  const count = async () =>
    (
      await db.query<{ f: number; r: number }>(
        'SELECT (SELECT count(*) FROM warden_refresh_families)::int AS f, (SELECT count(*) FROM warden_revocations)::int AS r'
      )
    )[0]
  const deadline = Date.now() + 5000
  while (JSON.stringify(await count()) !== JSON.stringify({ f: 1, r: 1 }) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.same(await count(), { f: 1, r: 1 }, 'only the live family and the revocation in force are left, without anyone calling purge()')
  await stores.close()
})
