import t from 'tap'
import { referenceApp, form } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

const INJECTIONS = ["' OR 1=1--", "'; DROP TABLE users;--", "admin'--", '1; DELETE FROM api_keys', "\\'; SELECT pg_sleep(5);--"]

t.test('injection strings through every input: refused by a schema, or stored and returned verbatim, never executed', async (t) => {
  const { app, login, bearer, stores } = await referenceApp(t)
  const admin = await login()
  const tables = async () =>
    (
      await stores.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema()
         AND table_name IN ('users', 'warden_api_keys', 'warden_refresh_tokens', 'warden_refresh_families', 'warden_revocations')`
      )
    )[0].n

  for (const text of INJECTIONS) {
    // Token endpoint: every parameter.
    const requests: Array<Record<string, string>> = [
      { grant_type: 'password', username: text, password: text },
      { grant_type: 'password', username: 'admin', password: text },
      { grant_type: 'refresh_token', refresh_token: text },
      { grant_type: 'password', username: 'admin', password: 'x', scope: text },
      { grant_type: 'password', username: 'admin', password: 'x', client_id: text, client_secret: text },
      { grant_type: text }
    ]
    for (const fields of requests) {
      const res = await app.inject({ method: 'POST', url: '/auth/token', ...form(fields) })
      t.equal(res.statusCode, fields.client_secret === undefined ? 400 : 401, `token ${JSON.stringify(fields)}`)
    }
    t.equal((await app.inject({ method: 'POST', url: '/auth/revoke', ...form({ token: text, token_type_hint: text }) })).statusCode, 200)

    // Paths and queries.
    t.equal((await app.inject({ url: `/users/${encodeURIComponent(text)}`, headers: bearer(admin.access_token) })).statusCode, 400)
    t.equal((await app.inject({ method: 'DELETE', url: `/api-keys/${encodeURIComponent(text)}`, headers: bearer(admin.access_token) })).statusCode, 400)
    t.equal((await app.inject({ url: `/users?limit=${encodeURIComponent(text)}`, headers: bearer(admin.access_token) })).statusCode, 400)

    // Bodies: refused by the schema, or stored verbatim.
    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/users',
          headers: bearer(admin.access_token),
          payload: { username: text, email: 'x@example.com', password: 'a long enough password', role: 'user' }
        })
      ).statusCode,
      400
    )
    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/users',
          headers: bearer(admin.access_token),
          payload: { username: 'someone', email: text, password: 'a long enough password', role: 'user' }
        })
      ).statusCode,
      400
    )
    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/users',
          headers: bearer(admin.access_token),
          payload: { username: 'someone', email: 'x@example.com', password: 'a long enough password', role: text }
        })
      ).statusCode,
      400
    )
    const key = await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(admin.access_token), payload: { name: text, scopes: [] } })
    t.equal(key.statusCode, 201)
    t.equal(key.json().name, text, 'the name comes back exactly as sent')

    // Credentials in headers.
    t.equal((await app.inject({ url: '/users/me', headers: { 'x-api-key': text } })).statusCode, 401)
    t.equal((await app.inject({ url: '/users/me', headers: { authorization: 'Basic ' + Buffer.from(`${text}:${text}`).toString('base64') } })).statusCode, 401)
    t.equal((await app.inject({ url: '/users/me', headers: { authorization: `Bearer ${text}` } })).statusCode, 401)
  }
  const names = (await app.inject({ url: '/api-keys', headers: bearer(admin.access_token) })).json().items.map((k: { name: string }) => k.name)
  t.same(names, INJECTIONS, 'stored verbatim')
  t.equal(await tables(), 5, 'every table is still there')
  t.equal(await stores.users.count(), 1, 'and holds what it held')
})

t.test('bootstrap: the first start creates the administrator once; a configured password is never reported', async (t) => {
  const told: Array<[string, string | undefined]> = []
  const { login } = await referenceApp(t, { onAdminCreated: (username, password) => told.push([username, password]) })
  t.same(told, [['admin', undefined]], 'ADMIN_PASSWORD was configured: nothing to print')
  t.ok(await login())
})
