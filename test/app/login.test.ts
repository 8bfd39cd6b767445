import t from 'tap'
import { referenceApp, fastPasswords, ADMIN_PASSWORD } from '../helpers/reference-app.js'
import type { PasswordHasher } from '../../plugins/index.js'
import { closeSharedDatabase } from '../helpers/services.js'
import { proofKey } from '../helpers/dpop.js'

t.teardown(closeSharedDatabase)
const decode = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())
const json = (body: unknown) => ({ method: 'POST' as const, url: '/login', payload: body as Record<string, unknown> })
const sessionCount = async (db: { query: <T>(sql: string) => Promise<T[]> }): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM warden_refresh_tokens'))[0].n

/** The test hasher, counting the passwords it checks. */
function countingPasswords (): { passwords: PasswordHasher, checked: () => number } {
  let checked = 0
  const passwords: PasswordHasher = {
    ...fastPasswords,
    async verify (...args) {
      checked++
      return await fastPasswords.verify(...args)
    }
  }
  return { passwords, checked: () => checked }
}

t.test('POST /login: the token endpoint\'s token pair, for JSON, and it works like one', async (t) => {
  const { app, stores, bearer } = await referenceApp(t)
  const res = await app.inject(json({ username: 'admin', password: ADMIN_PASSWORD }))
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
  t.equal(body.scope, 'users:read users:write admin', 'the admin role\'s scopes')
  const admin = await stores.users.findByUsername('admin')
  t.match(decode(body.access_token), { sub: admin!.id, scope: 'users:read users:write admin', client_id: 'public' })
  t.equal(await sessionCount(stores.db), 1, 'a session was started')
  t.equal((await app.inject({ url: '/users', headers: bearer(body.access_token) })).statusCode, 200)

  const refreshed = await app.inject({
    method: 'POST',
    url: '/auth/token',
    payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.equal(refreshed.statusCode, 200, 'its refresh token is the token endpoint\'s')
  t.equal(refreshed.json().scope, 'users:read users:write admin')

  const narrowed = await app.inject(json({ username: 'ADMIN', password: ADMIN_PASSWORD, scope: 'users:read' }))
  t.equal(narrowed.json().scope, 'users:read', 'narrowed to the scope asked for')
  const headers = bearer(narrowed.json().access_token)
  t.equal((await app.inject({ method: 'DELETE', url: `/users/${admin!.id}`, headers })).statusCode, 403)
})

t.test('a wrong password, an unknown user and a disabled account get the same 401', async (t) => {
  const { app, stores, createUser } = await referenceApp(t)
  const gone = await createUser('gone', 'user')
  await stores.db.query('UPDATE users SET active = false WHERE id = $1', [gone.id])
  const bodies = []
  const attempts = [['admin', 'not the password'], ['nobody', ADMIN_PASSWORD], ['gone', 'gone password 123']]
  for (const [username, password] of attempts) {
    const res = await app.inject(json({ username, password }))
    t.equal(res.statusCode, 401, username)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.equal(res.headers['cache-control'], 'no-store')
    bodies.push(res.body)
  }
  const detail = 'Invalid username or password.'
  t.same(JSON.parse(bodies[0]), { type: 'about:blank', title: 'Unauthorized', status: 401, detail })
  t.equal(new Set(bodies).size, 1, 'byte-identical answers')
  t.equal(await sessionCount(stores.db), 0)
})

t.test('the lockout: many wrong logins at once check no more passwords than the threshold, then 429', async (t) => {
  const { passwords, checked } = countingPasswords()
  const { app, stores } = await referenceApp(t, { passwords, lockout: { threshold: 3 } })
  const answers = await Promise.all(Array.from({ length: 20 }, async () =>
    await app.inject(json({ username: 'admin', password: 'a wrong password' }))))
  const statuses = answers.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 401).length, 3, 'as many refusals as the threshold')
  t.equal(statuses.filter((s) => s === 429).length, 17, 'the others are locked out')
  t.equal(checked(), 3, 'no more passwords checked than the threshold')
  const locked = answers.find((r) => r.statusCode === 429)!
  t.match(locked.headers['retry-after'], /^[1-9][0-9]*$/)
  t.match(locked.json(), { status: 429, detail: /^Too many failed logins; retry in \d+ seconds\.$/ })

  const right = await app.inject(json({ username: 'admin', password: ADMIN_PASSWORD }))
  t.equal(right.statusCode, 429, 'the right password too, while locked')
  t.equal(checked(), 3, 'and it was not checked')
  const token = await app.inject({
    method: 'POST',
    url: '/auth/token',
    payload: new URLSearchParams({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.equal(token.statusCode, 429, 'one lockout with the token endpoint')
  t.equal(await sessionCount(stores.db), 0)
})

t.test('invalid input is a 400 before any password is checked, and nothing is stored', async (t) => {
  const { passwords, checked } = countingPasswords()
  const { app, stores } = await referenceApp(t, { passwords })
  const cases: Array<[unknown, string]> = [
    [{ username: 'admin' }, '/password'],
    [{ username: 'admin', password: ADMIN_PASSWORD, extra: 1 }, '/extra'],
    [{ username: 'admin', password: 'x'.repeat(129) }, '/password'],
    [{ username: 'a'.repeat(257), password: ADMIN_PASSWORD }, '/username'],
    [{ username: 'admin\u0000', password: ADMIN_PASSWORD }, '/username'],
    [{ username: 'admin', password: ADMIN_PASSWORD, scope: 'users:read  admin' }, '/scope'],
    [{ username: 'admin', password: ADMIN_PASSWORD, scope: 'users:read root' }, '/scope'],
    [{ username: 'admin', password: 12345678901234 }, '/password']
  ]
  for (const [body, field] of cases) {
    const res = await app.inject(json(body))
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(JSON.stringify(res.json().errors ?? res.json()), field, `names ${field}`)
  }
  t.equal(checked(), 0, 'no password was checked')
  t.equal(await sessionCount(stores.db), 0, 'no session was stored')
})

t.test('POST /login binds the tokens to the key of a DPoP proof, as the token endpoint does; a bad proof is a 400 that says so', async (t) => {
  const { app } = await referenceApp(t)
  const key = await proofKey()
  const proof = await key.proof({ htm: 'POST', htu: 'http://localhost:80/login' })
  const res = await app.inject({ ...json({ username: 'admin', password: ADMIN_PASSWORD }), headers: { dpop: proof } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().token_type, 'DPoP')
  t.match(decode(res.json().access_token), { cnf: { jkt: key.jkt } })
  const token = res.json().access_token as string
  const call = await app.inject({
    url: '/users/me',
    headers: { authorization: `DPoP ${token}`, dpop: await key.proof({ htm: 'GET', htu: 'http://localhost:80/users/me', token }) }
  })
  t.equal(call.statusCode, 200, 'the bound token works with a proof of its key')
  t.equal((await app.inject({ url: '/users/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 401, 'and not as a bearer token')

  const replayed = await app.inject({ ...json({ username: 'admin', password: ADMIN_PASSWORD }), headers: { dpop: proof } })
  t.equal(replayed.statusCode, 400)
  t.match(replayed.json(), { status: 400, error: 'invalid_dpop_proof' })
  t.match(replayed.headers['content-type'], /^application\/problem\+json/)
})
