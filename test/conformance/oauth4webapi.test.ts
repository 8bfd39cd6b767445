import t from 'tap'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as oauth from 'oauth4webapi'
import { loadConfig } from '../../app/config.js'
import { referenceApp, ADMIN_PASSWORD } from '../helpers/reference-app.js'
import { closeSharedDatabase, freePort } from '../helpers/services.js'

// The reference app's token endpoint and resource server, spoken to by a strict third-party client
// (panva's oauth4webapi) over real HTTP, with asymmetric keys published in the JWKS.
t.teardown(closeSharedDatabase)

const insecure = { [oauth.allowInsecureRequests]: true }
const client: oauth.Client = { client_id: 'conformance-client' }

t.test('a strict OAuth 2 client (oauth4webapi) against the reference app', async (t) => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const cwd = mkdtempSync(join(tmpdir(), 'warden-conformance-'))
  writeFileSync(join(cwd, 'es256.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const config = loadConfig(
    {
      ENVIRONMENT: 'development',
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY_FILE: 'es256.pem',
      PUBLIC_URL: base,
      API_KEY_SECRET: randomBytes(32).toString('base64url'),
      DATA_DIR: 'memory://',
      ADMIN_PASSWORD,
      RATE_LIMIT: '100000/minute',
      LOGIN_RATE_LIMIT: '100000/minute'
    },
    cwd
  )
  const { app } = await referenceApp(t, { config })
  await app.listen({ port, host: '127.0.0.1' })

  // RFC 8414 discovery: the metadata's issuer is checked by the client.
  const as = await oauth.processDiscoveryResponse(new URL(base), await oauth.discoveryRequest(new URL(base), { algorithm: 'oauth2', ...insecure }))
  t.equal(as.token_endpoint, `${base}/auth/token`)
  t.equal(as.revocation_endpoint, `${base}/auth/revoke`)
  t.equal(as.jwks_uri, `${base}/.well-known/jwks.json`)

  // The password grant (a generic grant for the client), a public client naming itself.
  const password = await oauth.genericTokenEndpointRequest(
    as,
    client,
    oauth.None(),
    'password',
    { username: 'admin', password: ADMIN_PASSWORD, scope: 'users:read' },
    insecure
  )
  const tokens = await oauth.processGenericTokenEndpointResponse(as, client, password)
  t.equal(tokens.token_type, 'bearer')
  t.equal(tokens.scope, 'users:read')
  t.type(tokens.refresh_token, 'string')

  // RFC 9068: the access token validated by the client library, keys from our JWKS.
  const request = new Request(`${base}/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  const claims = await oauth.validateJwtAccessToken(as, request, base, insecure)
  t.match(
    claims,
    { iss: base, aud: base, client_id: 'conformance-client', scope: 'users:read' },
    'typ at+jwt, iss, aud, exp, iat, sub, jti and client_id all present and right'
  )

  // The protected resource, through the client: 200, then a 401 whose challenge it parses.
  const me = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${base}/users/me`), undefined, undefined, insecure)
  t.equal(me.status, 200)
  const denied = await oauth.protectedResourceRequest('not-a-token', 'GET', new URL(`${base}/users/me`), undefined, undefined, insecure).then(
    () => undefined,
    (err: unknown) => err
  )
  t.ok(denied instanceof oauth.WWWAuthenticateChallengeError, 'a WWW-Authenticate challenge the client understands')
  const challenge = (denied as oauth.WWWAuthenticateChallengeError).cause.find((c) => c.scheme === 'bearer')
  t.match(challenge?.parameters, { realm: 'fastify-warden', error: 'invalid_token', resource_metadata: `${base}/.well-known/oauth-protected-resource` })

  // RFC 9728: from the challenge's resource_metadata to the resource's metadata, checked by the client.
  const resource = await oauth.processResourceDiscoveryResponse(new URL(base), await oauth.resourceDiscoveryRequest(new URL(base), insecure))
  t.same(resource.authorization_servers, [base])

  // Refresh rotation; a retry within REFRESH_TOKEN_REUSE_INTERVAL (a lost reply) gets the same
  // successor; once the successor has moved on, the rotated token is a reuse: refused, and the session with it.
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure)
  )
  t.not(refreshed.refresh_token, tokens.refresh_token, 'a new refresh token on every use')
  const retried = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure)
  )
  t.equal(retried.refresh_token, refreshed.refresh_token, 'a retry gets the same successor')
  const moved = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token!, insecure)
  )
  const reuse = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure)
  await t.rejects(oauth.processRefreshTokenResponse(as, client, reuse), { code: oauth.RESPONSE_BODY_ERROR, error: 'invalid_grant' })
  t.equal(
    (
      await oauth
        .protectedResourceRequest(moved.access_token, 'GET', new URL(`${base}/users/me`), undefined, undefined, insecure)
        .catch((err: oauth.WWWAuthenticateChallengeError) => err.response)
    ).status,
    401,
    'the whole family is revoked'
  )

  // A wider scope at refresh: invalid_scope (RFC 6749 §5.2), and the refresh token still works.
  const second = await oauth.processGenericTokenEndpointResponse(
    as,
    client,
    await oauth.genericTokenEndpointRequest(
      as,
      client,
      oauth.None(),
      'password',
      { username: 'admin', password: ADMIN_PASSWORD, scope: 'users:read' },
      insecure
    )
  )
  const wider = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), second.refresh_token!, {
    ...insecure,
    additionalParameters: { scope: 'users:read admin' }
  })
  await t.rejects(oauth.processRefreshTokenResponse(as, client, wider), { code: oauth.RESPONSE_BODY_ERROR, error: 'invalid_scope' })
  const still = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), second.refresh_token!, insecure)
  )
  t.type(still.access_token, 'string')

  // RFC 7009 revocation through the client; the access token is refused afterwards.
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), still.access_token, insecure))
  const revoked = await oauth.protectedResourceRequest(still.access_token, 'GET', new URL(`${base}/users/me`), undefined, undefined, insecure).then(
    () => undefined,
    (err: oauth.WWWAuthenticateChallengeError) => err
  )
  t.equal(revoked?.status, 401)
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), 'an unknown token', insecure))
  t.pass('an unknown token: 200 as RFC 7009 §2.2 says')
})
