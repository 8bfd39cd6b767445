import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import type { OAuth2ServerOptions, UserGrant } from '../../plugins/index.js'
import { plugins, stores } from '../helpers/subject.js'
import { SECRET, ed25519 } from '../helpers/keys.js'
import { closeSharedDatabase, testDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)
const { warden, oauth2Bearer, oauth2Server, openapi, rateLimit, createPasswordHasher } = plugins
const { sqlRefreshTokenStore, sqlRevocationStore, RevocationList } = stores

// A notes API with its own users, as in the README: nothing of the reference app.
const hasher = createPasswordHasher({ memoryCost: 1024, timeCost: 1 })
const USERS = new Map<string, { id: string; hash: string; scopes: string[] }>([
  ['ada', { id: 'u-ada', hash: await hasher.hash('ada password 1'), scopes: ['notes:read', 'notes:write'] }],
  ['bob', { id: 'u-bob', hash: await hasher.hash('bob password 1'), scopes: ['notes:read'] }]
])
const verifyUser = async (username: string, password: string): Promise<UserGrant | null> => {
  const user = USERS.get(username)
  return (await hasher.verify(user?.hash, password)) && user !== undefined ? { subject: user.id, scopes: user.scopes } : null
}
const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/token',
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }
})
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())

async function notesApp (
  server: Partial<OAuth2ServerOptions> = {},
  bearer: { isRevoked?: (c: { jti?: unknown; sid?: unknown }) => boolean } = {}
): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(warden, { scopes: { 'notes:read': 'Read notes', 'notes:write': 'Write notes' } })
  await app.register(openapi, { info: { title: 'notes', version: '1' } })
  await app.register(oauth2Bearer, { secret: SECRET, issuer: 'https://notes.example', audience: 'https://notes.example', tokenUrl: '/token', ...bearer })
  await app.register(oauth2Server, { verifyUser, tokenPath: '/token', revokePath: '/revoke', ...server })
  app.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }] } }, async (request) => ({ owner: request.auth!.subject }))
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('the smallest token endpoint: a verifier, and the password grant works end to end', async (t) => {
  const app = await notesApp()
  const res = await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password 1' }))
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'no refresh token without a session store')
  t.equal(body.scope, 'notes:read notes:write', 'every scope of the user when none was asked for')
  t.match(claimsOf(body.access_token), { sub: 'u-ada', client_id: 'public', scope: 'notes:read notes:write', iss: 'https://notes.example' })
  const notes = await app.inject({ url: '/notes', headers: { authorization: `Bearer ${body.access_token}` } })
  t.same(notes.json(), { owner: 'u-ada' })

  const narrowed = await app.inject(form({ grant_type: 'password', username: 'bob', password: 'bob password 1', scope: 'notes:write' }))
  t.equal(narrowed.json().scope, '', 'a scope the user may not have is left out')
  t.equal((await app.inject({ url: '/notes', headers: { authorization: `Bearer ${narrowed.json().access_token}` } })).statusCode, 403)

  const refresh = await app.inject(form({ grant_type: 'refresh_token', refresh_token: 'wdr_' + 'A'.repeat(43) }))
  t.same(refresh.json(), { error: 'unsupported_grant_type', error_description: 'Grant type refresh_token is not supported.' })
  t.equal((await app.inject({ method: 'POST', url: '/revoke' })).statusCode, 404, 'no revocation endpoint without sessions')

  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.same(
    doc.components.securitySchemes.oauth2.flows,
    { password: { tokenUrl: '/token', scopes: { 'notes:read': 'Read notes', 'notes:write': 'Write notes' } } },
    'no refreshUrl when refresh is off'
  )
  t.same(Object.keys(doc.paths['/token'].post.requestBody.content), ['application/x-www-form-urlencoded'])
  t.same(doc.paths['/token'].post.requestBody.content['application/x-www-form-urlencoded'].schema.properties.grant_type.enum, ['password'])
  t.equal(doc.paths['/token'].post.responses['400'].content['application/json'].schema.$ref, '#/components/schemas/OAuthError')
  const metadata = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json()
  t.match(metadata, { issuer: 'https://notes.example', token_endpoint: 'https://notes.example/token', grant_types_supported: ['password'] })
  t.notOk('revocation_endpoint' in metadata)
})

t.test('RFC 8414 metadata points at the keys where oauth2Bearer publishes them, or at none', async (t) => {
  const { privateKey } = ed25519()
  for (const jwksPath of ['/keys', false] as const) {
    const app = Fastify()
    await app.register(warden, { scopes: { 'notes:read': 'Read notes' } })
    await app.register(oauth2Bearer, { signingKey: { kid: 'k1', privateKey }, jwksPath, issuer: 'https://notes.example', audience: 'https://notes.example' })
    await app.register(oauth2Server, { verifyUser, tokenPath: '/token' })
    t.teardown(() => app.close())
    const metadata = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json()
    if (jwksPath === false) {
      t.notOk('jwks_uri' in metadata, 'keys not published: no jwks_uri')
      t.equal((await app.inject({ url: '/.well-known/jwks.json' })).statusCode, 404)
    } else {
      t.equal(metadata.jwks_uri, 'https://notes.example/keys', 'the path the keys are published at')
      t.match((await app.inject({ url: '/keys' })).json(), { keys: [{ kid: 'k1', alg: 'EdDSA' }] })
    }
  }
})

t.test('bad input gets the RFC 6749 error, never a 5xx, and stores nothing', async (t) => {
  const db = await testDatabase(t, 'pglite')
  const revocations = await RevocationList.open({ store: sqlRevocationStore(db) })
  t.teardown(() => revocations.close())
  const app = await notesApp({ sessions: { refreshTokens: sqlRefreshTokenStore(db), revocations } }, { isRevoked: (c) => revocations.isRevoked(c) })
  const rows = async () =>
    (
      await db.query<{ n: number }>(
        'SELECT (SELECT count(*) FROM warden_refresh_families)::int + (SELECT count(*) FROM warden_refresh_tokens)::int ' +
          '+ (SELECT count(*) FROM warden_revocations)::int AS n'
      )
    )[0].n
  const before = await rows()
  const cases: Array<[string, string, number, string]> = [
    ['', 'application/x-www-form-urlencoded', 400, 'invalid_request'],
    ['grant_type=implicit', 'application/x-www-form-urlencoded', 400, 'unsupported_grant_type'],
    ['grant_type=client_credentials', 'application/x-www-form-urlencoded', 400, 'unsupported_grant_type'],
    ['grant_type=password&username=ada', 'application/x-www-form-urlencoded', 400, 'invalid_request'],
    ['grant_type=password&username=ada&username=bob&password=x', 'application/x-www-form-urlencoded', 400, 'invalid_request'],
    ['grant_type=password&username=a%00da&password=x', 'application/x-www-form-urlencoded', 400, 'invalid_request'],
    [`grant_type=password&username=ada&password=${'x'.repeat(2000)}`, 'application/x-www-form-urlencoded', 400, 'invalid_request'],
    ['grant_type=password&username=ada&password=ada+password+1&scope=notes:delete', 'application/x-www-form-urlencoded', 400, 'invalid_scope'],
    ['grant_type=password&username=ada&password=wrong', 'application/x-www-form-urlencoded', 400, 'invalid_grant'],
    ['grant_type=refresh_token&refresh_token=wdr_nope', 'application/x-www-form-urlencoded', 400, 'invalid_grant'],
    ['grant_type=refresh_token&refresh_token=%E0%A4%A', 'application/x-www-form-urlencoded', 400, 'invalid_grant'],
    ['{"grant_type":"password"}', 'application/json', 400, 'invalid_request'],
    ['grant_type=password', 'text/plain', 400, 'invalid_request'],
    ['grant_type=password&client_secret=x', 'application/x-www-form-urlencoded', 400, 'invalid_request']
  ]
  for (const [payload, type, status, error] of cases) {
    const res = await app.inject({ method: 'POST', url: '/token', payload, headers: { 'content-type': type } })
    t.equal(res.statusCode, status, payload.slice(0, 60))
    t.equal(res.json().error, error, payload.slice(0, 60))
    t.equal(res.headers['cache-control'], 'no-store')
  }
  const huge = await app.inject({
    method: 'POST',
    url: '/token',
    payload: 'grant_type=password&x=' + 'a'.repeat(20_000),
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.equal(huge.statusCode, 413, 'a body over 16 KiB is refused before parsing')
  for (const payload of ['', 'token=', 'token=a&token=b']) {
    const res = await app.inject({ method: 'POST', url: '/revoke', payload, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    t.equal(res.statusCode, 400, `revoke ${payload}`)
    t.equal(res.json().error, 'invalid_request')
  }
  t.equal(await rows(), before, 'no family, token or revocation was written')
})

t.test('sessions: rotation, reuse revokes the family and its access tokens, RFC 7009 revocation', async (t) => {
  const db = await testDatabase(t, 'pglite')
  const revocations = await RevocationList.open({ store: sqlRevocationStore(db) })
  t.teardown(() => revocations.close())
  const app = await notesApp({ sessions: { refreshTokens: sqlRefreshTokenStore(db), revocations } }, { isRevoked: (c) => revocations.isRevoked(c) })
  const login = (await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password 1', client_id: 'notes-web' }))).json()
  t.match(login.refresh_token, /^wdr_/)
  t.match(claimsOf(login.access_token), { client_id: 'notes-web', sid: /^[0-9a-f-]{36}$/ })
  const other = await app.inject(form({ grant_type: 'refresh_token', refresh_token: login.refresh_token, client_id: 'another-app' }))
  t.same(
    other.json(),
    { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' },
    'a refresh token is bound to its client'
  )
  const rotated = (
    await app.inject(form({ grant_type: 'refresh_token', refresh_token: login.refresh_token, client_id: 'notes-web', scope: 'notes:read' }))
  ).json()
  t.equal(rotated.scope, 'notes:read')
  t.not(rotated.refresh_token, login.refresh_token)
  const bearer = { authorization: `Bearer ${rotated.access_token}` }
  t.equal((await app.inject({ url: '/notes', headers: bearer })).statusCode, 200)
  const replay = await app.inject(form({ grant_type: 'refresh_token', refresh_token: login.refresh_token, client_id: 'notes-web' }))
  t.equal(replay.json().error, 'invalid_grant')
  t.equal((await app.inject({ url: '/notes', headers: bearer })).statusCode, 401, 'reuse revoked the session, access tokens included')

  const second = (await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password 1' }))).json()
  const revoke = await app.inject({ ...form({ token: second.access_token, token_type_hint: 'access_token' }), url: '/revoke' })
  t.equal(revoke.statusCode, 200)
  t.equal((await app.inject({ url: '/notes', headers: { authorization: `Bearer ${second.access_token}` } })).statusCode, 401)
  t.equal((await app.inject({ ...form({ token: 'not a token we know' }), url: '/revoke' })).statusCode, 200, 'unknown tokens: 200 (RFC 7009 §2.2)')
  t.equal(await app.oauth2Server.endSessions('u-ada', 'password changed'), 1, 'the one live session of ada ends')
  const ended = await app.inject(form({ grant_type: 'refresh_token', refresh_token: second.refresh_token }))
  t.equal(ended.json().error, 'invalid_grant')
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.equal(doc.components.securitySchemes.oauth2.flows.password.refreshUrl, '/token')
})

t.test('client credentials for confidential clients with scopes', async (t) => {
  const app = await notesApp({
    clients: { 'nightly-export': { secret: 'export client secret 0123', scopes: ['notes:read'] }, 'web-backend': { secret: 'web backend secret 0123' } }
  })
  const basic = (id: string, secret: string) => ({ authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') })
  const res = await app.inject(form({ grant_type: 'client_credentials' }, basic('nightly-export', 'export client secret 0123')))
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
  t.match(claimsOf(res.json().access_token), { sub: 'nightly-export', client_id: 'nightly-export', scope: 'notes:read' })
  t.equal(
    (
      await app.inject(
        form({ grant_type: 'client_credentials', client_id: 'nightly-export', client_secret: 'export client secret 0123', scope: 'notes:write' })
      )
    ).json().scope,
    '',
    'never more than the client has'
  )
  const wrong = await app.inject(form({ grant_type: 'client_credentials' }, basic('nightly-export', 'wrong')))
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.headers['www-authenticate'], 'Basic realm="api", charset="UTF-8"')
  t.same((await app.inject(form({ grant_type: 'client_credentials', client_id: 'nightly-export' }))).json(), {
    error: 'invalid_client',
    error_description: 'Client authentication failed.'
  })
  t.same(
    (await app.inject(form({ grant_type: 'client_credentials' }))).json(),
    { error: 'invalid_client', error_description: 'Client authentication failed.' },
    'a public client cannot'
  )
  t.same((await app.inject(form({ grant_type: 'client_credentials' }, basic('web-backend', 'web backend secret 0123')))).json(), {
    error: 'unauthorized_client',
    error_description: 'This client may not use client_credentials.'
  })
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.same(Object.keys(doc.components.securitySchemes.oauth2.flows).sort(), ['clientCredentials', 'password'])
})

t.test('the lockout is on by default: five failures lock the account with 429 and Retry-After', async (t) => {
  const app = await notesApp()
  for (let i = 0; i < 5; i++) {
    t.equal(
      (await app.inject({ ...form({ grant_type: 'password', username: 'bob', password: 'wrong' }), remoteAddress: `10.0.0.${i}` })).json().error,
      'invalid_grant'
    )
  }
  const locked = await app.inject({ ...form({ grant_type: 'password', username: 'bob', password: 'bob password 1' }), remoteAddress: '10.0.0.9' })
  t.equal(locked.statusCode, 429)
  t.match(locked.headers['retry-after'], /^\d+$/)
  await app.oauth2Server.unlock('bob')
  t.equal((await app.inject(form({ grant_type: 'password', username: 'bob', password: 'bob password 1' }))).statusCode, 200)
})

t.test("with the app's own form parser and the rateLimit plugin", async (t) => {
  const app = Fastify()
  await app.register(formbody)
  await app.register(warden, { scopes: { 'notes:read': 'Read notes' } })
  await app.register(rateLimit, { max: 100, timeWindow: 60_000 })
  await app.register(oauth2Bearer, { secret: SECRET, issuer: 'https://notes.example', audience: 'https://notes.example' })
  await app.register(oauth2Server, { verifyUser, rateLimit: { max: 2, timeWindow: 60_000 } })
  t.teardown(() => app.close())
  await app.ready()
  const login = { ...form({ grant_type: 'password', username: 'ada', password: 'ada password 1' }), url: '/auth/token' }
  t.equal((await app.inject(login)).statusCode, 200)
  t.same(
    (await app.inject({ ...login, payload: 'grant_type=password&username=a&username=b' })).json().error,
    'invalid_request',
    'repeats refused with @fastify/formbody too'
  )
  const limited = await app.inject(login)
  t.equal(limited.statusCode, 429, 'the token endpoint has its own, stricter limit')
})

t.test('options are checked at registration, naming the option', async (t) => {
  const cases: Array<[Partial<OAuth2ServerOptions>, RegExp]> = [
    [{ verifyUser: undefined }, /option 'verifyUser' must be given/],
    [{ verifyUser: 'yes' as never }, /option 'verifyUser' must be a function/],
    [{ clients: { c: { secret: 'short' } } }, /option 'clients.c.secret' must be a string of at least 16 characters/],
    [
      { clients: { c: { secret: 'long enough secret 1', scopes: ['notes:delete'] } } },
      /option 'clients.c.scopes' must be an array of scopes the scheme grants/
    ],
    [{ sessions: {} as never }, /option 'sessions' must be a SessionStore/],
    [
      { sessions: { refreshTokens: sqlRefreshTokenStore(undefined as never), revocations: { revoke: async () => {}, isRevoked: () => false } } },
      /option 'sessions' needs the 'oauth2' scheme's isRevoked option/
    ],
    [{ tokenPath: 'token' }, /option 'tokenPath' must be an absolute path/],
    [{ refreshTokenTtl: 0 }, /option 'refreshTokenTtl' must be an integer/],
    [{ loginAttempts: {} as never }, /option 'loginAttempts' must be LoginAttempts/],
    [{ lockout: 'strict' as never }, /option 'lockout' must be \{ threshold, baseDelay, maxDelay, memory \} or false/],
    [{ lockout: { threshold: 0 } }, /option 'lockout.threshold' must be an integer from 1/],
    [{ rateLimit: { max: 9_999_999, timeWindow: 60_000 } }, /option 'rateLimit.max' must be an integer from 1 to 1000000/],
    [{ reuseInterval: 301 }, /option 'reuseInterval' must be an integer from 0 to 300/]
  ]
  for (const [opts, message] of cases) {
    const app = Fastify()
    await app.register(warden, { scopes: { 'notes:read': 'Read notes' } })
    await app.register(oauth2Bearer, { secret: SECRET, issuer: 'https://notes.example', audience: 'https://notes.example' })
    await t.rejects(
      async () => {
        await app.register(oauth2Server, { verifyUser, ...opts } as OAuth2ServerOptions)
        await app.ready()
      },
      { code: 'WARDEN_ERR_OPTION', message },
      String(message)
    )
    await app.close()
  }
  const alone = Fastify()
  await alone.register(warden)
  await t.rejects(
    async () => {
      await alone.register(oauth2Server, { verifyUser })
      await alone.ready()
    },
    /fastify-warden\/oauth2-bearer/,
    'needs the bearer scheme that signs'
  )
  const resourceServer = Fastify()
  await resourceServer.register(warden)
  await resourceServer.register(oauth2Bearer, { issuer: 'https://id.example', jwksUrl: 'https://id.example/jwks', audience: 'https://notes.example', prefetch: false })
  await t.rejects(
    async () => {
      await resourceServer.register(oauth2Server, { verifyUser })
      await resourceServer.ready()
    },
    { code: 'WARDEN_ERR_SIGN', message: /the token endpoint needs a scheme that signs, and 'oauth2' verifies another issuer's tokens/ },
    'at registration, not at the first login'
  )
  await resourceServer.close()
})

t.test('regression: under a prefix, the documented token URL is the prefixed one; metadata there is refused by name', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(warden, { scopes: { 'notes:read': 'Read notes' } })
  await app.register(openapi, { info: { title: 'notes', version: '1' } })
  await app.register(async (v1) => {
    await v1.register(oauth2Bearer, { secret: SECRET, issuer: 'https://notes.example', audience: 'https://notes.example' })
    await v1.register(oauth2Server, { verifyUser, tokenPath: '/token', metadata: false })
  }, { prefix: '/v1/' })
  await app.ready()
  const document = app.swagger() as unknown as { components: { securitySchemes: { oauth2: { flows: { password: { tokenUrl: string } } } } } }
  const flows = document.components.securitySchemes.oauth2.flows
  t.equal(flows.password.tokenUrl, '/v1/token')
  t.equal((await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password 1' }))).statusCode, 404, 'not at /token')
  const res = await app.inject({ ...form({ grant_type: 'password', username: 'ada', password: 'ada password 1' }), url: '/v1/token' })
  t.equal(res.statusCode, 200, 'at /v1/token, as documented')

  const metadata = Fastify()
  t.teardown(() => metadata.close())
  await metadata.register(warden, { scopes: { 'notes:read': 'Read notes' } })
  await t.rejects(async () => {
    await metadata.register(async (v1) => {
      await v1.register(oauth2Bearer, { secret: SECRET, issuer: 'https://notes.example', audience: 'https://notes.example' })
      await v1.register(oauth2Server, { verifyUser })
    }, { prefix: '/v1' })
  }, { code: 'WARDEN_ERR_OPTION', message: /metadata.*prefix '\/v1'/ })
})

t.test('regression: client ids are checked as decoded: a control character is invalid_client, never a stored session', async (t) => {
  const app = await notesApp()
  const basic = (id: string): Record<string, string> => ({ authorization: 'Basic ' + Buffer.from(`${id}:`).toString('base64') })
  for (const id of ['%00', 'a%0Ab', '%7F', '%C2%85', 'a%E2%80%AEb', 'a%E2%80%A8b', `${'x'.repeat(256)}`]) {
    const res = await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password 1' }, basic(id)))
    t.equal(res.statusCode, 401, `Basic client id ${id.slice(0, 8)}`)
    t.equal(res.json().error, 'invalid_client')
    t.match(res.headers['www-authenticate'], /^Basic realm=/)
  }
  const body = await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password 1', client_id: 'a\nb' }))
  t.equal(body.statusCode, 401, 'the same in the body')
  t.equal(body.json().error, 'invalid_client')
  const fine = await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password 1' }, basic('my%20app')))
  t.equal(fine.statusCode, 200, 'a form-encoded id with a space is a fine public client')
  t.equal(claimsOf(fine.json().access_token).client_id, 'my app')
})

t.test('regression: a parameter named after an Object.prototype member has the default bound (constructor= escaped it)', async (t) => {
  const app = await notesApp()
  const res = await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password 1', constructor: 'x'.repeat(9000) }))
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_request')
})

t.test('regression: a realm a header cannot carry (beyond Latin-1) is refused at registration, not a 500 on every challenge', async (t) => {
  const core = Fastify()
  t.teardown(() => core.close())
  await t.rejects(async () => { await core.register(warden, { realm: '東京 API' }) }, { code: 'WARDEN_ERR_OPTION', message: /realm/ })
  const server = Fastify()
  t.teardown(() => server.close())
  await server.register(warden, { scopes: { 'notes:read': 'Read notes' } })
  await server.register(oauth2Bearer, { secret: SECRET, issuer: 'https://notes.example', audience: 'https://notes.example' })
  await t.rejects(async () => { await server.register(oauth2Server, { verifyUser, realm: 'x\u2028y' }) }, { code: 'WARDEN_ERR_OPTION', message: /realm/ })
  const latin = await notesApp({ realm: 'Café' })
  const res = await latin.inject(form({ grant_type: 'password', username: 'ada', password: 'x' }, { authorization: 'Basic %%%' }))
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Basic realm="Café", charset="UTF-8"', 'Latin-1 is fine')
})
