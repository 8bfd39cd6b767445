import t from 'tap'
import { referenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

t.test('an API key is shown once, works on the routes its scopes allow, and is listed without its secret', async (t) => {
  const { app, login, bearer, stores } = await referenceApp(t)
  const admin = await login('admin', undefined, 'users:read')
  const created = await app.inject({
    method: 'POST',
    url: '/api-keys',
    headers: bearer(admin.access_token),
    payload: { name: 'reporting', scopes: ['users:read'] }
  })
  t.equal(created.statusCode, 201)
  const key = created.json()
  t.same(Object.keys(key).sort(), ['created_at', 'expires_at', 'id', 'key', 'name', 'prefix', 'scopes'])
  t.match(key, { name: 'reporting', scopes: ['users:read'], expires_at: null })
  t.match(key.key, /^wdn_[A-Za-z0-9]{8}_[A-Za-z0-9]{38}$/)
  t.equal(key.key.slice(4, 12), key.prefix)
  const [row] = await stores.db.query<{ digest: string }>('SELECT digest FROM warden_api_keys')
  t.notMatch(row.digest, key.key.slice(13, 30), 'only an HMAC digest is stored')

  const users = await app.inject({ url: '/users', headers: { 'x-api-key': key.key } })
  t.equal(users.statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/users', headers: { 'x-api-key': key.key }, payload: {} })).statusCode, 403)
  t.equal((await app.inject({ url: '/users/me', headers: { 'x-api-key': key.key } })).json().username, 'admin', 'the key acts for its owner')
  t.equal((await app.inject({ url: '/api-keys', headers: { 'x-api-key': key.key } })).statusCode, 401, 'keys cannot manage keys: oauth2 only')

  await stores.apiKeyUsage.flush()
  const list = await app.inject({ url: '/api-keys', headers: bearer(admin.access_token) })
  t.equal(list.statusCode, 200)
  const [listed] = list.json().items
  t.same(Object.keys(listed).sort(), ['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'prefix', 'request_count', 'scopes'])
  t.equal(listed.request_count, 3, 'uses are counted in batches, including the refused ones that authenticated')
  t.ok(listed.last_used_at)
  t.notMatch(list.body, new RegExp(key.key.slice(13)))
})

t.test('a key cannot grant more than the token that creates it', async (t) => {
  const { app, login, bearer } = await referenceApp(t)
  const narrow = await login('admin', undefined, 'users:read')
  const res = await app.inject({
    method: 'POST',
    url: '/api-keys',
    headers: bearer(narrow.access_token),
    payload: { name: 'too much', scopes: ['users:read', 'admin'] }
  })
  t.equal(res.statusCode, 403)
  t.equal(res.json().detail, "A key cannot grant scopes the caller's token does not hold: admin.")
  const unknown = await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(narrow.access_token), payload: { name: 'x', scopes: ['root'] } })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.json().errors, [{ field: '/scopes/0' }])
})

t.test('expiry: validated on creation, enforced on use', async (t) => {
  const { app, login, bearer, stores } = await referenceApp(t)
  const admin = await login()
  const create = async (expiresAt: string) =>
    await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(admin.access_token), payload: { name: 'temp', scopes: [], expires_at: expiresAt } })
  t.equal((await create(new Date(Date.now() - 1000).toISOString())).statusCode, 400)
  t.equal((await create(new Date(Date.now() + 400 * 86_400_000).toISOString())).statusCode, 400)
  t.equal((await create('tomorrow')).statusCode, 400)
  const res = await create(new Date(Date.now() + 3_600_000).toISOString())
  t.equal(res.statusCode, 201)
  const { key, id } = res.json()
  t.equal((await app.inject({ url: '/users/me', headers: { 'x-api-key': key } })).statusCode, 200)
  await stores.db.query("UPDATE warden_api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [id])
  app.apiKeys.forget(key.slice(4, 12))
  t.equal((await app.inject({ url: '/users/me', headers: { 'x-api-key': key } })).statusCode, 401)
})

t.test("revocation: only the caller's own keys; a revoked key stops at once", async (t) => {
  const { app, login, bearer, createUser } = await referenceApp(t)
  await createUser('mallory', 'moderator')
  const admin = await login()
  const mallory = await login('mallory', 'mallory password 123')
  const { id, key } = (
    await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(admin.access_token), payload: { name: 'ci', scopes: ['admin'] } })
  ).json()
  t.equal((await app.inject({ url: '/users/me', headers: { 'x-api-key': key } })).statusCode, 200, 'cached after this use')
  const theirs = await app.inject({ method: 'DELETE', url: `/api-keys/${id}`, headers: bearer(mallory.access_token) })
  t.equal(theirs.statusCode, 404, "another user's key is not found, not forbidden")
  t.same((await app.inject({ url: '/api-keys', headers: bearer(mallory.access_token) })).json(), { items: [] })
  t.equal((await app.inject({ method: 'DELETE', url: `/api-keys/${id}`, headers: bearer(admin.access_token) })).statusCode, 204)
  t.equal((await app.inject({ url: '/users/me', headers: { 'x-api-key': key } })).statusCode, 401, 'the verified-key cache forgot it')
  t.equal((await app.inject({ method: 'DELETE', url: `/api-keys/${id}`, headers: bearer(admin.access_token) })).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url: '/api-keys/nope', headers: bearer(admin.access_token) })).statusCode, 400)
})

t.test("a key never grants more than its owner's role allows today", async (t) => {
  const { app, login, bearer, stores } = await referenceApp(t)
  const admin = await login()
  const { key } = (
    await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(admin.access_token), payload: { name: 'x', scopes: ['users:read', 'users:write'] } })
  ).json()
  const adminUser = await stores.users.findByUsername('admin')
  await stores.db.query("UPDATE users SET role = 'moderator' WHERE id = $1", [adminUser!.id])
  app.apiKeys.forget(key.slice(4, 12))
  t.equal((await app.inject({ url: '/users', headers: { 'x-api-key': key } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/users', headers: { 'x-api-key': key }, payload: {} })).statusCode, 403)
  await stores.db.query('UPDATE users SET active = false WHERE id = $1', [adminUser!.id])
  app.apiKeys.forget(key.slice(4, 12))
  t.equal((await app.inject({ url: '/users', headers: { 'x-api-key': key } })).statusCode, 401, 'an inactive owner disables the key')
})

t.test('regression: a key dies with its owner at once, whatever the verified-key cache holds', async (t) => {
  const { app, login, bearer, stores, createUser } = await referenceApp(t)
  await createUser('nina', 'moderator', 'nina password 123')
  const nina = await login('nina', 'nina password 123')
  const { key } = (
    await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(nina.access_token), payload: { name: 'ci', scopes: ['users:read'] } })
  ).json()
  t.equal((await app.inject({ url: '/users', headers: { 'x-api-key': key } })).statusCode, 200, 'verified, and cached for 30 s')
  const user = await stores.users.findByUsername('nina')
  await stores.db.query('UPDATE users SET active = false WHERE id = $1', [user!.id])
  t.equal((await app.inject({ url: '/users', headers: { 'x-api-key': key } })).statusCode, 401, 'disabled: refused at the next request, from the cache')
  await stores.db.query('UPDATE users SET active = true WHERE id = $1', [user!.id])
  t.equal((await app.inject({ url: '/users', headers: { 'x-api-key': key } })).statusCode, 200)
  await stores.db.query('DELETE FROM users WHERE id = $1', [user!.id])
  t.equal((await app.inject({ url: '/users', headers: { 'x-api-key': key } })).statusCode, 401, "deleted behind the API's back: refused too")
})
