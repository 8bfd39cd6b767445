import t from 'tap'
import { randomUUID } from 'node:crypto'
import { referenceApp, form, ADMIN_PASSWORD, testConfig, DPOP_ALGS, METADATA } from '../helpers/reference-app.js'
import { closeSharedDatabase, postgresSkip, redisSkip, testDatabase, POSTGRES_URL, REDIS_URL } from '../helpers/services.js'
import { openStores } from '../../app/stores.js'
import { openPostgres } from '../../stores/sql/postgres.js'
import { Redis } from 'ioredis'

t.teardown(closeSharedDatabase)

t.test('refresh: rotation on every use; a replayed token revokes the whole session, access tokens included', async (t) => {
  const { app, login, bearer } = await referenceApp(t)
  const refresh = async (token: string, scope?: string) =>
    await app.inject({
      method: 'POST',
      url: '/auth/token',
      ...form({ grant_type: 'refresh_token', refresh_token: token, ...(scope === undefined ? {} : { scope }) })
    })
  const first = await login()
  const second = await refresh(first.refresh_token)
  t.equal(second.statusCode, 200)
  t.equal(second.headers['cache-control'], 'no-store')
  const pair = second.json()
  t.not(pair.refresh_token, first.refresh_token, 'a new refresh token every time')
  t.equal(pair.scope, 'users:read users:write admin')
  t.equal((await app.inject({ url: '/users/me', headers: bearer(pair.access_token) })).statusCode, 200)

  const replay = await refresh(first.refresh_token)
  t.equal(replay.statusCode, 400)
  t.same(replay.json(), { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' })
  t.equal((await refresh(pair.refresh_token)).statusCode, 400, 'the newest refresh token of the family is dead too')
  const me = await app.inject({ url: '/users/me', headers: bearer(pair.access_token) })
  t.equal(me.statusCode, 401, 'and so are the access tokens of the session')
  t.same(me.headers['www-authenticate'], [
    `Bearer realm="fastify-warden", ${METADATA}, error="invalid_token", DPoP realm="fastify-warden", ${METADATA}, algs="${DPOP_ALGS}", error="invalid_token"`,
    'ApiKey realm="fastify-warden", header="X-API-Key"',
    'Basic realm="fastify-warden", charset="UTF-8"'
  ])
  t.equal((await app.inject({ url: '/users/me', headers: bearer(first.access_token) })).statusCode, 401)

  const other = await login()
  t.equal((await app.inject({ url: '/users/me', headers: bearer(other.access_token) })).statusCode, 200, 'other sessions of the user live on')
})

t.test(
  'regression: a wider refresh scope is invalid_scope and the refresh token stays usable; refresh may narrow, never beyond the role of today',
  async (t) => {
    const { app, login, stores } = await referenceApp(t)
    const refresh = async (token: string, scope?: string) =>
      await app.inject({
        method: 'POST',
        url: '/auth/token',
        ...form({ grant_type: 'refresh_token', refresh_token: token, ...(scope === undefined ? {} : { scope }) })
      })
    const narrow = await login('admin', ADMIN_PASSWORD, 'users:read users:write')
    const narrowed = await refresh(narrow.refresh_token, 'users:read')
    t.equal(narrowed.json().scope, 'users:read')
    const wider = await refresh(narrowed.json().refresh_token, 'admin')
    t.equal(wider.statusCode, 400, 'admin was never granted to this session')
    // RFC 6749 §5.2: a scope beyond the grant is invalid_scope, and a client's typo must not end its session.
    t.same(wider.json(), { error: 'invalid_scope', error_description: 'The scope is wider than the one granted.' })
    t.equal((await refresh(narrowed.json().refresh_token)).statusCode, 200, 'the refresh token refused for its scope still works')

    const session = await login()
    const admin = await stores.users.findByUsername('admin')
    await stores.db.query("UPDATE users SET role = 'moderator' WHERE id = $1", [admin!.id])
    t.equal((await refresh(session.refresh_token)).json().scope, 'users:read', 'a demoted user keeps only what the new role allows')
    t.equal((await refresh('wdr_' + 'A'.repeat(43))).statusCode, 400)
    t.equal((await refresh('not-a-token')).statusCode, 400)
  }
)

t.test('a session ends after REFRESH_TOKEN_EXPIRE_DAYS, however often it is refreshed', async (t) => {
  const { app, login, stores } = await referenceApp(t)
  const session = await login()
  await stores.db.query("UPDATE warden_refresh_families SET expires_at = now() - interval '1 second'")
  const res = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: session.refresh_token }) })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_grant')
})

t.test('RFC 7009: revoking an access token refuses it; revoking a refresh token ends its session', async (t) => {
  const { app, login, bearer } = await referenceApp(t)
  const revoke = async (fields: Record<string, string>) => await app.inject({ method: 'POST', url: '/auth/revoke', ...form(fields) })
  const a = await login()
  const b = await login()
  const res = await revoke({ token: a.access_token, token_type_hint: 'access_token' })
  t.equal(res.statusCode, 200)
  t.equal(res.body, '')
  t.equal((await app.inject({ url: '/users/me', headers: bearer(a.access_token) })).statusCode, 401)
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: a.refresh_token }) })).statusCode,
    200,
    'revoking an access token leaves its refresh token'
  )

  t.equal((await revoke({ token: b.refresh_token })).statusCode, 200)
  t.equal((await app.inject({ url: '/users/me', headers: bearer(b.access_token) })).statusCode, 401, 'the access tokens of the session end with it')
  t.equal((await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: b.refresh_token }) })).statusCode, 400)

  t.equal((await revoke({ token: 'unknown token' })).statusCode, 200, 'unknown tokens: 200 all the same')
  t.equal((await revoke({ token: b.refresh_token, token_type_hint: 'something_else' })).statusCode, 200)
  const missing = await revoke({})
  t.equal(missing.statusCode, 400)
  t.same(missing.json(), { error: 'invalid_request', error_description: 'Parameter token is required.' })
  t.equal((await revoke({ token: 'x', token_type_hint: 'x'.repeat(100) })).statusCode, 400)
})

t.test('changing the password ends every session of the user', async (t) => {
  const { app, login, bearer, createUser } = await referenceApp(t)
  await createUser('carol', 'moderator', 'carol password 12')
  const s1 = await login('carol', 'carol password 12')
  const s2 = await login('carol', 'carol password 12')
  const adminSession = await login()
  const change = async (token: string, current: string, next: string) =>
    await app.inject({
      method: 'PUT',
      url: '/users/me/password',
      headers: bearer(token),
      payload: { current_password: current, new_password: next }
    })
  const wrong = await change(s1.access_token, 'not it', 'brand new password 1')
  t.equal(wrong.statusCode, 400)
  t.match(wrong.json(), { status: 400, errors: [{ in: 'body', field: '/current_password' }] })
  const short = await change(s1.access_token, 'carol password 12', 'short')
  t.equal(short.statusCode, 400)
  t.match(short.json().errors, [{ in: 'body', field: '/new_password' }])
  t.equal((await change(s1.access_token, 'carol password 12', 'carol password 12')).statusCode, 400)

  t.equal((await change(s1.access_token, 'carol password 12', 'brand new password 1')).statusCode, 204)
  for (const s of [s1, s2]) {
    t.equal((await app.inject({ url: '/users/me', headers: bearer(s.access_token) })).statusCode, 401)
    t.equal(
      (await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: s.refresh_token }) })).statusCode,
      400
    )
  }
  t.equal((await app.inject({ url: '/users/me', headers: bearer(adminSession.access_token) })).statusCode, 200, "other users' sessions are untouched")
  await t.rejects(login('carol', 'carol password 12'))
  t.ok(await login('carol', 'brand new password 1'))

  const basic = 'Basic ' + Buffer.from('carol:brand new password 1').toString('base64')
  t.equal(
    (
      await app.inject({
        method: 'PUT',
        url: '/users/me/password',
        headers: { authorization: basic },
        payload: { current_password: 'brand new password 1', new_password: 'third password 123' }
      })
    ).statusCode,
    204,
    'Basic works too'
  )
})

t.test(
  'two app instances on one PostgreSQL and Redis: a token revoked through one is refused by the other',
  { skip: (await postgresSkip()) || (await redisSkip()) },
  async (t) => {
    const db = await testDatabase(t, 'postgres')
    const schema = (await db.query<{ s: string }>('SELECT current_schema() AS s'))[0].s
    const config = testConfig({ REDIS_URL })
    const namespace = `test-${randomUUID()}`
    const redis = new Redis(REDIS_URL)
    t.teardown(async () => {
      await redis.quit()
    })
    const one = await referenceApp(t, {
      config,
      stores: await openStores({ database: db, redis, redisNamespace: namespace, revocationPollInterval: 3_600_000 })
    })
    const two = await referenceApp(t, {
      config,
      stores: await openStores({
        database: openPostgres(POSTGRES_URL, { searchPath: schema }),
        redis,
        redisNamespace: namespace,
        revocationPollInterval: 3_600_000
      })
    })
    const session = await one.login()
    t.equal(
      (await two.app.inject({ url: '/users/me', headers: two.bearer(session.access_token) })).statusCode,
      200,
      'the second instance accepts the token (and caches it)'
    )
    // The second instance says when the message has arrived: no sleep, no polling.
    const arrived = new Promise<void>((resolve) => {
      two.stores.revocations.onRevoked(() => {
        resolve()
      })
    })
    t.equal((await one.app.inject({ method: 'POST', url: '/auth/revoke', ...form({ token: session.access_token }) })).statusCode, 200)
    await arrived
    t.equal(
      (await two.app.inject({ url: '/users/me', headers: two.bearer(session.access_token) })).statusCode,
      401,
      'refused by the other instance, through Redis, not the hourly reread'
    )
  }
)
