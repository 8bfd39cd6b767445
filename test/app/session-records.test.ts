import t from 'tap'
import { Writable } from 'node:stream'
import { referenceApp, form, testConfig } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

const payload = (jwt: string): { jti: string; exp: number; sid: string } => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())

t.test(
  "what revocation stores: an access token's id outlives the token; a session lasts REFRESH_TOKEN_EXPIRE_DAYS; the hint only orders the search",
  async (t) => {
    const { app, login, stores } = await referenceApp(t, { config: testConfig({ REFRESH_TOKEN_EXPIRE_DAYS: '3' }) })
    const revoke = async (fields: Record<string, string>) => await app.inject({ method: 'POST', url: '/auth/revoke', ...form(fields) })
    const session = await login()
    const { jti, exp, sid } = payload(session.access_token)
    const [family] = await stores.db.query<{ days: number }>(
      'SELECT round(extract(epoch FROM expires_at - created_at) / 86400)::int AS days FROM warden_refresh_families WHERE id = $1',
      [sid]
    )
    t.equal(family.days, 3, "a session's absolute lifetime is REFRESH_TOKEN_EXPIRE_DAYS")

    t.equal((await revoke({ token: session.access_token, token_type_hint: 'refresh_token' })).statusCode, 200, 'a wrong hint: the token is found all the same')
    const [record] = await stores.db.query<{ until: number }>(
      "SELECT extract(epoch FROM expires_at)::float8 AS until FROM warden_revocations WHERE kind = 'jti' AND id = $1",
      [jti]
    )
    t.ok(record.until >= exp + 30, `the revoked id is kept until ${record.until - exp} s after the token's exp: past its clock tolerance`)

    const other = await login()
    t.equal((await revoke({ token: other.refresh_token, token_type_hint: 'access_token' })).statusCode, 200)
    const [ended] = await stores.db.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM warden_refresh_families WHERE id = $1', [
      payload(other.access_token).sid
    ])
    t.equal(ended.revoked, true, 'a refresh token under the access_token hint ends its session')

    const before = await stores.db.query('SELECT kind, id FROM warden_revocations ORDER BY id')
    t.equal((await revoke({ token: 'wdr_' + 'Z'.repeat(43) })).statusCode, 200, 'an unknown token of the refresh format: 200')
    t.same(await stores.db.query('SELECT kind, id FROM warden_revocations ORDER BY id'), before, 'and nothing was revoked for it')
  }
)

t.test('the events an attack leaves: a refused scope and a reused refresh token are logged', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    }
  })
  const { app, login, bearer, createUser } = await referenceApp(t, { logger: { level: 'info', stream } })
  await createUser('quinn', 'user', 'quinn password 12')
  const quinn = await login('quinn', 'quinn password 12')
  t.equal((await app.inject({ url: '/users', headers: bearer(quinn.access_token) })).statusCode, 403)
  t.match(
    lines.find((l) => l.event === 'auth.scope.denied'),
    { level: 30, route: '/users', challenge: /insufficient_scope/ }
  )
  const refresh = async (token: string) =>
    await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: token }) })
  await refresh(quinn.refresh_token)
  await refresh(quinn.refresh_token)
  t.match(
    lines.find((l) => l.event === 'auth.refresh.reuse_detected'),
    { level: 40, subject: String, session: payload(quinn.access_token).sid }
  )
})
