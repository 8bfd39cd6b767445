import t from 'tap'
import { referenceApp, form, testConfig, type ReferenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase, postgresSkip, testDatabase, type Backend } from '../helpers/services.js'
import { openStores } from '../../app/stores.js'
import type { Database } from '../../stores/sql/database.js'

t.teardown(closeSharedDatabase)

const refresh = async ({ app }: ReferenceApp, token: string) =>
  await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: token }) })
const me = async ({ app, bearer }: ReferenceApp, token: string) => (await app.inject({ url: '/users/me', headers: bearer(token) })).statusCode
const sidOf = (jwt: string): string => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).sid

/** The database, counting the statements run on it (in transactions too). */
function counting (db: Database): { db: Database; statements: () => number } {
  let n = 0
  return {
    db: {
      ...db,
      query: async (sql, params) => {
        n++
        return await db.query(sql, params)
      },
      transaction: async (fn) =>
        await db.transaction(
          async (tx) =>
            await fn({
              query: async (sql, params) => {
                n++
                return await tx.query(sql, params)
              }
            })
        )
    },
    statements: () => n
  }
}

const skip: Record<Backend, string | false> = { pglite: false, postgres: await postgresSkip() }
for (const backend of ['pglite', 'postgres'] as const) {
  t.test(
    `${backend}: two tabs refreshing one token at once, within REFRESH_TOKEN_REUSE_INTERVAL: both get the same successor and the session lives`,
    { skip: skip[backend] },
    async (t) => {
      const identity = await referenceApp(t, { database: await testDatabase(t, backend), env: { REFRESH_TOKEN_REUSE_INTERVAL: '10' } })
      const session = await identity.login()
      const tabs = await Promise.all([refresh(identity, session.refresh_token), refresh(identity, session.refresh_token)])
      t.same(
        tabs.map((r) => r.statusCode),
        [200, 200]
      )
      const [one, two] = tabs.map((r) => r.json())
      t.equal(one.refresh_token, two.refresh_token, 'the same successor: the tabs hold one session')
      t.not(one.access_token, two.access_token, 'each gets an access token of its own')
      t.same([await me(identity, one.access_token), await me(identity, two.access_token)], [200, 200])
      const next = await refresh(identity, one.refresh_token)
      t.equal(next.statusCode, 200, 'the successor refreshes as usual')
      t.equal((await refresh(identity, session.refresh_token)).statusCode, 400, 'once the successor has moved on, the first token is a reuse')
      t.equal(await me(identity, next.json().access_token), 401, '…and the whole session ends, the newest tokens included')
    }
  )

  t.test(
    `${backend}: without a reuse interval (REFRESH_TOKEN_REUSE_INTERVAL=0) the second tab is a reuse and the session ends`,
    { skip: skip[backend] },
    async (t) => {
      const identity = await referenceApp(t, { database: await testDatabase(t, backend), env: { REFRESH_TOKEN_REUSE_INTERVAL: '0' } })
      const session = await identity.login()
      const tabs = await Promise.all([refresh(identity, session.refresh_token), refresh(identity, session.refresh_token)])
      t.same(tabs.map((r) => r.statusCode).sort(), [200, 400])
      const winner = tabs.find((r) => r.statusCode === 200)!.json()
      t.equal(await me(identity, winner.access_token), 401, "RFC 9700 §4.14.2 as written: the winner's tokens are revoked too")
      t.equal((await refresh(identity, winner.refresh_token)).statusCode, 400)
    }
  )

  t.test(
    `${backend}: 100 concurrent replays of one refresh token cost one rotation and one revocation; every other route keeps answering`,
    { skip: skip[backend] },
    async (t) => {
      const database = counting(await testDatabase(t, backend))
      const identity = await referenceApp(t, { database: database.db })
      const { stores } = identity
      await identity.createUser('mo', 'user', 'mo password 1234')
      const bystander = await identity.login('mo', 'mo password 1234')
      const session = await identity.login()
      const before = database.statements()
      const [replays, others] = await Promise.all([
        Promise.all(Array.from({ length: 100 }, async () => (await refresh(identity, session.refresh_token)).statusCode)),
        Promise.all(Array.from({ length: 100 }, async () => await me(identity, bystander.access_token)))
      ])
      t.same([replays.filter((s) => s === 200).length, replays.filter((s) => s === 400).length], [1, 99], 'one rotation; the rest refused')
      t.same([...new Set(others)], [200], 'no other request answered 503 meanwhile')
      // 100 for /users/me; for the replays, each a lookup of the presented token, one rotation and one reuse.
      const spent = database.statements() - before - 100
      t.ok(spent <= 115, `${spent} statements for 100 replays (a login costs 2): not a transaction and a revocation each`)
      const [{ n }] = await stores.db.query<{ n: number }>("SELECT count(*)::int AS n FROM warden_revocations WHERE kind = 'sid' AND id = $1", [
        sidOf(session.access_token)
      ])
      t.equal(n, 1, 'the session revoked once')
    }
  )
}

t.test('outside the reuse interval, presenting a rotated token again is reuse: the session ends', async (t) => {
  let clock = Date.now()
  const database = await testDatabase(t)
  const identity = await referenceApp(t, {
    config: testConfig({ REFRESH_TOKEN_REUSE_INTERVAL: '10' }),
    stores: await openStores({ database, now: () => clock })
  })
  const session = await identity.login()
  const first = await refresh(identity, session.refresh_token)
  t.equal(first.statusCode, 200)
  clock += 5_000
  t.equal((await refresh(identity, session.refresh_token)).json().refresh_token, first.json().refresh_token, 'a retry 5 s later gets the same successor')
  clock += 6_000
  t.equal((await refresh(identity, session.refresh_token)).statusCode, 400, '11 s later it is a reuse')
  t.equal((await refresh(identity, first.json().refresh_token)).statusCode, 400, 'the successor died with its session')
})

t.test('a session revoked by its sid refreshes no more', async (t) => {
  const identity = await referenceApp(t)
  const session = await identity.login()
  const sid = sidOf(session.access_token)
  await identity.stores.revocations.revoke([{ kind: 'sid', id: sid, expiresAt: Math.floor(Date.now() / 1000) + 900 }])
  t.equal(await me(identity, session.access_token), 401)
  t.equal((await refresh(identity, session.refresh_token)).statusCode, 400, 'not one refresh more')
  const [family] = await identity.stores.db.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM warden_refresh_families WHERE id = $1', [
    sid
  ])
  t.equal(family.revoked, true, 'and the family is marked revoked in the store')
})

t.test("regression: a session revoked by its sid refreshes no more, even once the sid's revocation has expired", async (t) => {
  const identity = await referenceApp(t)
  const session = await identity.login()
  const sid = sidOf(session.access_token)
  // Revoked for a second only (a revocation of a sid lasts as long as its access tokens), and no refresh meanwhile.
  await identity.stores.revocations.revoke([{ kind: 'sid', id: sid, expiresAt: Math.floor(Date.now() / 1000) - 1 }])
  t.equal(identity.stores.revocations.isRevoked({ sid }), false, 'the revocation of the sid is over')
  t.equal((await refresh(identity, session.refresh_token)).statusCode, 400, 'the session is not')
})
