import t from 'tap'
import { identityApp } from '../helpers/identity.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

t.test('bodies: 64 KiB at most (413), prototype pollution refused (400), broken JSON a 400', async (t) => {
  const { app, login, bearer } = await identityApp(t)
  const admin = await login()
  const post = async (payload: string) => await app.inject({ method: 'POST', url: '/users', headers: { ...bearer(admin.access_token), 'content-type': 'application/json' }, payload })
  const big = await post(JSON.stringify({ username: 'big', email: 'b@example.com', password: 'x'.repeat(70_000), role: 'user' }))
  t.equal(big.statusCode, 413)
  t.equal(big.headers['content-type'], 'application/problem+json; charset=utf-8')
  for (const payload of ['{"__proto__":{"role":"admin"},"username":"p1","email":"p@example.com","password":"a long enough password","role":"user"}',
    '{"constructor":{"prototype":{"role":"admin"}},"username":"p2","email":"p@example.com","password":"a long enough password","role":"user"}']) {
    const res = await post(payload)
    t.equal(res.statusCode, 400)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  t.same((await app.inject({ url: '/users?limit=100', headers: bearer(admin.access_token) })).json().items.map((u: { username: string }) => u.username), ['admin'], 'nothing was created by the refused bodies')
  t.equal((await post('{"username": "x",')).statusCode, 400)
  const unauthenticated = await app.inject({ method: 'POST', url: '/users', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(70_000) })
  t.equal(unauthenticated.statusCode, 401, 'without credentials the body is not even read')
})
