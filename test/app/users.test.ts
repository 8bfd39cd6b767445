import t from 'tap'
import { DPOP_ALGS, METADATA, referenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

const newUser = { username: 'dave', email: 'Dave@Example.com', password: 'dave password 123', role: 'user' }

t.test('users: create, read, list and delete with the scopes of each role; never a hash in a response', async (t) => {
  const { app, login, bearer, stores } = await referenceApp(t)
  const admin = await login()
  const created = await app.inject({ method: 'POST', url: '/users', headers: bearer(admin.access_token), payload: newUser })
  t.equal(created.statusCode, 201)
  const dave = created.json()
  t.same(Object.keys(dave).sort(), ['active', 'created_at', 'email', 'id', 'role', 'username'])
  t.match(dave, { username: 'dave', email: 'dave@example.com', role: 'user', active: true })
  t.equal(created.headers.location, `/users/${dave.id}`)
  t.notMatch(created.body, /argon2|password/)
  t.match((await stores.users.findById(dave.id))!.passwordHash, /^\$argon2id\$/)

  const one = await app.inject({ url: `/users/${dave.id}`, headers: bearer(admin.access_token) })
  t.same(one.json(), dave)
  const page = await app.inject({ url: '/users?limit=1&offset=1', headers: bearer(admin.access_token) })
  t.same(page.json(), { items: [dave], limit: 1, offset: 1 })
  t.equal((await app.inject({ url: '/users', headers: bearer(admin.access_token) })).json().items.length, 2)
  t.equal((await app.inject({ url: `/users/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, headers: bearer(admin.access_token) })).statusCode, 404)

  const del = await app.inject({ method: 'DELETE', url: `/users/${dave.id}`, headers: bearer(admin.access_token) })
  t.equal(del.statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: `/users/${dave.id}`, headers: bearer(admin.access_token) })).statusCode, 404)
  const me = await app.inject({ method: 'DELETE', url: `/users/${(await stores.users.findByUsername('admin'))!.id}`, headers: bearer(admin.access_token) })
  t.equal(me.statusCode, 409, 'an administrator cannot delete their own account')
})

t.test('roles: a user reaches /users/me only, a moderator reads, an admin writes', async (t) => {
  const { app, login, bearer, createUser } = await referenceApp(t)
  await createUser('plain', 'user')
  await createUser('mod', 'moderator')
  const plain = await login('plain', 'plain password 123')
  const mod = await login('mod', 'mod password 123')
  t.equal((await app.inject({ url: '/users/me', headers: bearer(plain.access_token) })).json().username, 'plain')
  t.equal((await app.inject({ url: '/users', headers: bearer(plain.access_token) })).statusCode, 403)
  t.equal((await app.inject({ url: '/users', headers: bearer(mod.access_token) })).statusCode, 200)
  const write = await app.inject({ method: 'POST', url: '/users', headers: bearer(mod.access_token), payload: newUser })
  t.equal(write.statusCode, 403)
  t.equal(
    write.headers['www-authenticate'],
    `Bearer realm="fastify-warden", ${METADATA}, error="insufficient_scope", scope="users:write", ` +
      `DPoP realm="fastify-warden", ${METADATA}, algs="${DPOP_ALGS}", error="insufficient_scope", scope="users:write"`,
    'the scope on each way a token may come'
  )
  const basic = 'Basic ' + Buffer.from('mod:mod password 123').toString('base64')
  t.equal((await app.inject({ url: '/users', headers: { authorization: basic } })).statusCode, 200, 'Basic carries the role scopes')
  t.equal((await app.inject({ url: '/users/me', headers: { authorization: basic } })).json().username, 'mod')
  t.equal((await app.inject({ url: '/users' })).statusCode, 401)
})

t.test('invalid input is a 400 naming the field, and nothing is stored', async (t) => {
  const { app, login, bearer, stores } = await referenceApp(t)
  const admin = await login()
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...newUser, username: 'a b' }, '/username'],
    [{ ...newUser, username: 'ab' }, '/username'],
    [{ ...newUser, username: 'x'.repeat(33) }, '/username'],
    [{ ...newUser, email: 'not-an-email' }, '/email'],
    [{ ...newUser, password: 'short' }, '/password'],
    [{ ...newUser, password: 'x'.repeat(129) }, '/password'],
    [{ ...newUser, password: 'has a nul \u0000 byte' }, '/password'],
    [{ ...newUser, role: 'root' }, '/role'],
    [{ ...newUser, is_admin: true }, '/is_admin'],
    [{ username: 'dave', email: 'd@example.com', role: 'user' }, '/password']
  ]
  for (const [payload, field] of cases) {
    const res = await app.inject({ method: 'POST', url: '/users', headers: bearer(admin.access_token), payload })
    t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60))
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.match(res.json(), { type: 'about:blank', title: 'Bad Request', status: 400 })
    t.ok(
      res.json().errors.some((e: { in: string; field: string }) => e.in === 'body' && e.field === field),
      `names ${field || 'the body'}: ${res.body}`
    )
  }
  t.equal(await stores.users.count(), 1, 'only the admin exists')
  const page = await app.inject({ url: '/users?limit=1000', headers: bearer(admin.access_token) })
  t.equal(page.statusCode, 400)
  t.match(page.json().errors, [{ in: 'querystring', field: '/limit' }])
  const id = await app.inject({ url: '/users/not-a-uuid', headers: bearer(admin.access_token) })
  t.equal(id.statusCode, 400)
  t.match(id.json().errors, [{ in: 'params', field: '/id' }])
  const broken = await app.inject({
    method: 'POST',
    url: '/users',
    headers: { ...bearer(admin.access_token), 'content-type': 'application/json' },
    payload: '{"username":'
  })
  t.equal(broken.statusCode, 400, 'a broken JSON body is a 400, not a 500')
  t.equal(broken.headers['content-type'], 'application/problem+json; charset=utf-8')
})

t.test('duplicates are a 409; injection strings are refused by the schema or stored verbatim', async (t) => {
  const { app, login, bearer, stores } = await referenceApp(t)
  const admin = await login()
  const post = async (payload: object) => await app.inject({ method: 'POST', url: '/users', headers: bearer(admin.access_token), payload })
  t.equal((await post(newUser)).statusCode, 201)
  const dup = await post({ ...newUser, email: 'other@example.com' })
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().detail, 'The username is already taken.')
  t.equal((await post({ ...newUser, username: 'dave2' })).json().detail, 'The email is already taken.')

  for (const hostile of ["' OR 1=1--", "'; DROP TABLE users;--"]) {
    t.equal((await post({ ...newUser, username: hostile })).statusCode, 400, 'user names are pattern-bounded')
    const withPassword = await post({
      ...newUser,
      username: `u${Math.random().toString(36).slice(2, 8)}`,
      email: `x${Math.random().toString(36).slice(2, 8)}@example.com`,
      password: `${hostile} padding`
    })
    t.equal(withPassword.statusCode, 201, 'a password may be anything, and is only ever hashed')
    const login = await app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: new URLSearchParams({ grant_type: 'password', username: hostile, password: hostile }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' }
    })
    t.equal(login.statusCode, 400)
    t.equal(login.json().error, 'invalid_grant')
  }
  t.equal(await stores.users.count(), 4, 'the users table is intact')
})

t.test('/users/me of a static service key is a 404, not an error', async (t) => {
  const { generateApiKey } = await import('../../plugins/index.js')
  const key = generateApiKey().key
  const { app } = await referenceApp(t, { env: { API_KEYS: `${key}|users:read` } })
  const me = await app.inject({ url: '/users/me', headers: { 'x-api-key': key } })
  t.equal(me.statusCode, 404)
  t.equal(me.json().detail, 'This credential does not belong to a user.')
  t.equal((await app.inject({ url: '/users', headers: { 'x-api-key': key } })).statusCode, 200, 'the static key grants its configured scope')
})
