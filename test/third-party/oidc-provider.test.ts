import t from 'tap'
import Fastify from 'fastify'
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { RESOURCE as AUDIENCE, ecKey, serviceClient, startProvider as start } from '../helpers/oidc-provider.js'
import { forge } from '../helpers/jwt.js'
import { plugins } from '../helpers/subject.js'
import { freePort } from '../helpers/services.js'

// A real, certified OpenID provider (panva's oidc-provider) run in-process on 127.0.0.1, issuing
// RFC 9068 JWT access tokens for a resource; oauth2Bearer in resource-server mode verifies them.
const { warden, oauth2Bearer } = plugins
const SCOPES = { 'users:read': 'Read users', 'users:write': 'Write users' }
const SECRET = 'a-client-secret-long-enough-for-the-provider'

/** The provider with the reports service as its confidential client; `keys[0]` signs. */
const startProvider = async (port: number, keys: JsonWebKey[]): Promise<() => Promise<void>> =>
  await start(port, {
    keys,
    scopes: ['users:read', 'users:write'],
    clients: [
      serviceClient('reports', SECRET, 'users:read users:write')
    ]
  })

async function clientCredentialsToken (issuer: string, scope: string): Promise<string> {
  // After a provider restart, the first request may land on a pooled connection the old one closed.
  const post = async (): Promise<Response> =>
    await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`reports:${SECRET}`).toString('base64') },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString()
    })
  const res = await post().catch(post)
  const body = (await res.json()) as { access_token: string }
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`)
  return body.access_token
}

async function resourceServer (issuer: string) {
  let skew = 0
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(oauth2Bearer, { discovery: true, issuer, audience: AUDIENCE, now: () => Date.now() + skew })
  app.get('/reports', { schema: { security: [{ oauth2: ['users:read'] }] } }, async (request) => ({
    subject: request.auth.subject,
    scopes: request.auth.scopes,
    client: request.auth.claims?.client_id
  }))
  app.post('/reports', { schema: { security: [{ oauth2: ['users:write'] }] } }, async () => 'written')
  await app.ready()
  return {
    app,
    call: async (token: string, method: 'GET' | 'POST' = 'GET') => await app.inject({ method, url: '/reports', headers: { authorization: `Bearer ${token}` } }),
    tick: (ms: number) => {
      skew += ms
    }
  }
}

t.test('a real OpenID provider: client-credentials JWTs, scopes, key rotation, a forged kid, an outage', async (t) => {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const k1 = ecKey('k1')
  let stop = await startProvider(port, [k1.jwk])
  t.teardown(async () => {
    await stop()
  })

  const rs = await resourceServer(issuer)
  t.teardown(() => rs.app.close())
  const readToken = await clientCredentialsToken(issuer, 'users:read')
  const ok = await rs.call(readToken)
  t.equal(ok.statusCode, 200, "the provider's client-credentials token is accepted")
  t.same(ok.json(), { subject: 'reports', scopes: ['users:read'], client: 'reports' })
  t.equal((await rs.call(readToken, 'POST')).statusCode, 403, 'a scope it was not granted')
  t.equal((await rs.call(await clientCredentialsToken(issuer, 'users:read users:write'), 'POST')).statusCode, 200)

  // Rotation: the provider now signs with k2 and still publishes k1.
  await stop()
  const k2 = ecKey('k2')
  stop = await startProvider(port, [k2.jwk, k1.jwk])
  const rotated = await clientCredentialsToken(issuer, 'users:read')
  t.equal(JSON.parse(Buffer.from(rotated.split('.')[0], 'base64url').toString()).kid, 'k2')
  t.equal((await rs.call(rotated)).statusCode, 401, 'a new kid within the cooldown is not fetched yet')
  rs.tick(31_000)
  t.equal((await rs.call(rotated)).statusCode, 200, 'after the cooldown the new kid is picked up')
  t.equal((await rs.call(readToken)).statusCode, 200, 'tokens of the old key keep working while it is published')

  // A forgery that names a published kid is refused on its signature.
  const claims = JSON.parse(Buffer.from(rotated.split('.')[1], 'base64url').toString()) as Record<string, unknown>
  const forged = forge(
    { alg: 'ES256', typ: 'at+jwt', kid: 'k2' },
    { ...claims, scope: 'users:read users:write' },
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  )
  t.equal((await rs.call(forged, 'POST')).statusCode, 401)

  // The provider goes away: a server that already holds its keys goes on; one that has none
  // answers 503 with Retry-After, never a 401 that sends every client back to log in.
  await stop()
  stop = async () => {}
  t.equal((await rs.call(rotated)).statusCode, 200, 'the last good keys are kept')
  const fresh = await resourceServer(issuer)
  t.teardown(() => fresh.app.close())
  const down = await fresh.call(rotated)
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '5')
  t.equal(down.json().status, 503)
})

t.test("the reference app in resource-server mode (OIDC_ISSUER, JWT_AUDIENCE): the provider's tokens on its protected routes", async (t) => {
  const { referenceApp, ADMIN_PASSWORD } = await import('../helpers/reference-app.js')
  const { closeSharedDatabase } = await import('../helpers/services.js')
  t.teardown(closeSharedDatabase)
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const stop = await startProvider(port, [ecKey('k1').jwk])
  t.teardown(stop)
  const { app } = await referenceApp(t, { env: { OIDC_ISSUER: issuer, JWT_AUDIENCE: AUDIENCE, JWT_SECRET_KEY: undefined as never } })
  const token = await clientCredentialsToken(issuer, 'users:read')
  const list = await app.inject({ url: '/users', headers: { authorization: `Bearer ${token}` } })
  t.equal(list.statusCode, 200, "GET /users with the provider's token carrying users:read")
  t.equal(
    (await app.inject({ method: 'POST', url: '/users', headers: { authorization: `Bearer ${token}` }, payload: {} })).statusCode,
    403,
    'users:write was not granted'
  )
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/token', payload: 'grant_type=password', headers: { 'content-type': 'application/x-www-form-urlencoded' } }))
      .statusCode,
    404,
    'this service issues no tokens of its own'
  )
  t.equal(
    (await app.inject({ url: '/users/me', headers: { authorization: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } })).statusCode,
    200,
    'Basic for local users still works'
  )
  const doc = (await app.inject({ url: '/docs/json' })).json()
  const algs = ['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512']
  t.same(doc.components.securitySchemes.oauth2, {
    type: 'openIdConnect',
    openIdConnectUrl: `${issuer}/.well-known/openid-configuration`,
    description:
      'Tokens of the OpenID provider; send the access token as `Authorization: Bearer <token>`. DPoP-bound tokens (RFC 9449) are accepted: ' +
      `send \`Authorization: DPoP <token>\` with a \`DPoP\` proof signed with ${algs.join(', ')}.`,
    'x-dpop': { mode: 'allowed', algs }
  }, 'the provider\'s tokens, and DPoP as the reference app takes it')
})
