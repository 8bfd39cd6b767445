import t from 'tap'
import bcrypt from 'bcryptjs'
import { referenceApp, form, ADMIN_PASSWORD, fastPasswords } from '../helpers/reference-app.js'
import { createPasswordHasher } from '../../plugins/index.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)
const decode = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())

t.test('password grant: RFC 6749 §5.1 answer with a rotating refresh token', async (t) => {
  const { app, stores, config } = await referenceApp(t)
  const res = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 900)
  t.equal(body.scope, 'users:read users:write admin', 'no scope requested: all of the role')
  t.match(body.refresh_token, /^wdr_[A-Za-z0-9_-]{43}$/)
  const admin = await stores.users.findByUsername('admin')
  const claims = decode(body.access_token)
  t.match(claims, { sub: admin!.id, scope: 'users:read users:write admin', iss: config.jwt.issuer, aud: config.jwt.audience })
  t.match(claims.sid, /^[0-9a-f-]{36}$/, 'the session id names the refresh family')
  const stored = await stores.db.query<{ digest: string }>('SELECT digest FROM warden_refresh_tokens')
  t.equal(stored.length, 1)
  t.not(stored[0].digest, body.refresh_token, 'only a digest of the refresh token is stored')
})

t.test('granted scopes are the requested ones the role allows; unknown scopes are invalid_scope', async (t) => {
  const { app, login, createUser } = await referenceApp(t)
  await createUser('mod', 'moderator')
  await createUser('plain', 'user')
  t.equal((await login('admin', ADMIN_PASSWORD, 'users:read')).scope, 'users:read')
  t.equal((await login('mod', 'mod password 123')).scope, 'users:read')
  t.equal((await login('mod', 'mod password 123', 'users:read admin')).scope, 'users:read', 'admin is not granted to a moderator')
  t.equal((await login('plain', 'plain password 123', 'users:write')).scope, '')
  const res = await app.inject({
    method: 'POST',
    url: '/auth/token',
    ...form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD, scope: 'users:read root' })
  })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_scope', error_description: 'Unknown scope: root.' })
})

t.test('a wrong password and an unknown user get byte-identical invalid_grant answers in about the same time', async (t) => {
  // A hash that costs a few milliseconds, so the comparison is about hashing, not about the noise of a busy machine.
  const { app } = await referenceApp(t, { passwords: createPasswordHasher({ memoryCost: 8192, timeCost: 2 }) })
  await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: 'warm up' }) })
  const attempt = async (username: string) => {
    const start = process.hrtime.bigint()
    const res = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username, password: 'not the password' }) })
    return { res, ns: Number(process.hrtime.bigint() - start) }
  }
  const samples: Record<string, number[]> = { admin: [], nobody: [] }
  let wrong, unknown
  for (let i = 0; i < 7; i++) {
    wrong = await attempt('admin')
    unknown = await attempt('nobody')
    samples.admin.push(wrong.ns)
    samples.nobody.push(unknown.ns)
  }
  t.equal(wrong!.res.statusCode, 400)
  t.equal(wrong!.res.body, unknown!.res.body)
  t.same(wrong!.res.json(), { error: 'invalid_grant', error_description: 'Invalid username or password.' })
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[3]
  const ratio = median(samples.nobody) / median(samples.admin)
  t.ok(ratio > 0.5 && ratio < 2, `unknown user / wrong password: ${ratio.toFixed(2)}`)
})

t.test('an inactive account cannot log in, with the same answer', async (t) => {
  const { app, stores, createUser } = await referenceApp(t)
  const user = await createUser('gone', 'user')
  await stores.db.query('UPDATE users SET active = false WHERE id = $1', [user.id])
  const res = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'gone', password: 'gone password 123' }) })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_grant', error_description: 'Invalid username or password.' })
})

t.test('malformed requests are invalid_request or unsupported_grant_type, never a 5xx', async (t) => {
  const { app } = await referenceApp(t)
  const post = async (payload: string, contentType = 'application/x-www-form-urlencoded') =>
    await app.inject({ method: 'POST', url: '/auth/token', payload, headers: { 'content-type': contentType } })
  const cases: Array<[string, string, string, string?]> = [
    ['', 'invalid_request', 'Parameter grant_type is required.'],
    ['grant_type=client_credentials', 'unsupported_grant_type', 'Grant type client_credentials is not supported.'],
    ['grant_type=password&password=x', 'invalid_request', 'Parameter username is required.'],
    ['grant_type=password&username=admin', 'invalid_request', 'Parameter password is required.'],
    ['grant_type=password&username=admin&username=root&password=x', 'invalid_request', 'Parameter username is repeated.'],
    ['grant_type=password&grant_type=password&username=a&password=b', 'invalid_request', 'Parameter grant_type is repeated.'],
    ['grant_type=password&username=ad%00min&password=x', 'invalid_request', 'Parameter username is malformed.'],
    [`grant_type=password&username=admin&password=${'x'.repeat(1025)}`, 'invalid_request', 'Parameter password is malformed.'],
    ['grant_type=refresh_token', 'invalid_request', 'Parameter refresh_token is required.'],
    [
      '{"grant_type":"password","username":"admin","password":"x"}',
      'invalid_request',
      'The request must be application/x-www-form-urlencoded.',
      'application/json'
    ]
  ]
  for (const [payload, error, description, type] of cases) {
    const res = await post(payload, type)
    t.equal(res.statusCode, 400, payload)
    t.same(res.json(), { error, error_description: description }, payload)
    t.equal(res.headers['cache-control'], 'no-store')
  }
  const text = await post('grant_type=password', 'text/plain')
  t.equal(text.statusCode, 400)
  t.equal(text.json().error, 'invalid_request', 'a text body is not a form')
  // Found by a probe: a type with no parser was Fastify's 415 problem+json, not an RFC 6749 error.
  for (const type of ['multipart/form-data; boundary=x', 'application/xml', 'application/x-www-form-urlencodedx']) {
    const res = await post('--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\npassword\r\n--x--', type)
    t.equal(res.statusCode, 400, type)
    t.same(res.json(), { error: 'invalid_request', error_description: 'The request must be application/x-www-form-urlencoded.' }, type)
    t.equal(res.headers['cache-control'], 'no-store')
  }
  const large = await post('x'.repeat(20_000), 'application/xml')
  t.equal(large.statusCode, 413, 'an unparsed body has the form\'s bound')
})

t.test('client credentials: optional, in Basic or in the body but not both, checked when given', async (t) => {
  const { app } = await referenceApp(t, { clients: { 'ci-bot': { secret: 'client secret of the ci bot' } } })
  const login = { grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }
  const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')
  const post = async (fields: Record<string, string>, headers: Record<string, string> = {}) => {
    const f = form(fields)
    return await app.inject({ method: 'POST', url: '/auth/token', payload: f.payload, headers: { ...f.headers, ...headers } })
  }
  t.equal((await post({ ...login, client_id: 'swagger-ui' })).statusCode, 200, 'a public client sends only its id')
  t.equal((await post(login, { authorization: basic('ci-bot', 'client secret of the ci bot') })).statusCode, 200)
  t.equal((await post({ ...login, client_id: 'ci-bot', client_secret: 'client secret of the ci bot' })).statusCode, 200)

  const wrongBasic = await post(login, { authorization: basic('ci-bot', 'wrong') })
  t.equal(wrongBasic.statusCode, 401)
  t.same(wrongBasic.json(), { error: 'invalid_client', error_description: 'Client authentication failed.' })
  t.equal(wrongBasic.headers['www-authenticate'], 'Basic realm="fastify-warden", charset="UTF-8"')
  const wrongBody = await post({ ...login, client_id: 'ci-bot', client_secret: 'wrong' })
  t.equal(wrongBody.statusCode, 401)
  t.notOk(wrongBody.headers['www-authenticate'])
  t.equal((await post({ ...login, client_id: 'ci-bot' })).statusCode, 401, 'a confidential client must authenticate')
  t.equal((await post({ ...login, client_id: 'nobody', client_secret: 'x' })).statusCode, 401)
  const both = await post({ ...login, client_secret: 'x' }, { authorization: basic('ci-bot', 'client secret of the ci bot') })
  t.equal(both.statusCode, 400)
  t.equal(both.json().error, 'invalid_request')
})

t.test('a bcrypt hash imported from passlib logs in and is replaced by argon2id', async (t) => {
  const { app, stores } = await referenceApp(t)
  const legacy = await bcrypt.hash('imported password 1', 4)
  const user = await stores.users.create({ username: 'imported', email: 'imp@example.com', passwordHash: legacy.replace(/^\$2a\$/, '$2b$'), role: 'moderator' })
  const res = await app.inject({
    method: 'POST',
    url: '/auth/token',
    ...form({ grant_type: 'password', username: 'imported', password: 'imported password 1' })
  })
  t.equal(res.statusCode, 200)
  const after = await stores.users.findById(user.id)
  t.match(after!.passwordHash, /^\$argon2id\$/)
  t.equal(await fastPasswords.verify(after!.passwordHash, 'imported password 1'), true)
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'imported', password: 'imported password 1' }) }))
      .statusCode,
    200
  )
})

t.test("a public client's empty Basic credentials (Swagger UI sends ':') are no client authentication", async (t) => {
  const { app } = await referenceApp(t)
  const f = form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD })
  for (const raw of [':', 'swagger-ui:']) {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: f.payload,
      headers: { ...f.headers, authorization: 'Basic ' + Buffer.from(raw).toString('base64') }
    })
    t.equal(res.statusCode, 200, JSON.stringify(raw))
  }
  const broken = await app.inject({ method: 'POST', url: '/auth/token', payload: f.payload, headers: { ...f.headers, authorization: 'Basic not-base64!' } })
  t.equal(broken.statusCode, 401)
  t.equal(broken.json().error, 'invalid_client')
})
