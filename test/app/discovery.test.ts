import t from 'tap'
import { DPOP_ALGS, referenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

t.test('a client can discover how to get a token: 401 challenge → RFC 9728 → RFC 8414 → token endpoint', async (t) => {
  const { app } = await referenceApp(t, { env: { JWT_ISSUER: 'https://id.example.com', JWT_AUDIENCE: 'https://api.example.com', PUBLIC_URL: 'https://api.example.com' } })
  const denied = await app.inject({ url: '/api-keys' })
  t.equal(denied.statusCode, 401)
  // One challenge for each way a token may come (DPoP is allowed), each pointing at the metadata.
  const metadata = 'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"'
  t.equal(denied.headers['www-authenticate'], `Bearer realm="fastify-warden", ${metadata}, DPoP realm="fastify-warden", ${metadata}, algs="${DPOP_ALGS}"`)
  const resource = await app.inject({ url: '/.well-known/oauth-protected-resource' })
  t.equal(resource.statusCode, 200)
  t.equal(resource.headers['cache-control'], 'public, max-age=3600')
  t.same(resource.json(), {
    resource: 'https://api.example.com',
    authorization_servers: ['https://id.example.com'],
    scopes_supported: ['users:read', 'users:write', 'admin'],
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: DPOP_ALGS.split(' ')
  })
  const server = await app.inject({ url: '/.well-known/oauth-authorization-server' })
  t.equal(server.statusCode, 200)
  t.match(server.json(), {
    issuer: 'https://id.example.com',
    token_endpoint: 'https://id.example.com/auth/token',
    revocation_endpoint: 'https://id.example.com/auth/revoke',
    grant_types_supported: ['password', 'refresh_token'],
    scopes_supported: ['users:read', 'users:write', 'admin'],
    dpop_signing_alg_values_supported: DPOP_ALGS.split(' ')
  })
  t.notOk('jwks_uri' in server.json(), 'HS256: no public keys to point at')
})

t.test('the reference app uses the hardening plugins from its configuration', async (t) => {
  const { app } = await referenceApp(t, { env: { ALLOWED_HOSTS: 'api.example.com', ALLOWED_ORIGINS: 'https://app.example.com' } })
  const ok = await app.inject({ url: '/health', headers: { host: 'api.example.com', origin: 'https://app.example.com', 'x-request-id': 'trace-0001' } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['x-request-id'], 'trace-0001')
  t.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com')
  t.equal(ok.headers['x-content-type-options'], 'nosniff')
  t.equal((await app.inject({ url: '/health', headers: { host: 'evil.test' } })).statusCode, 400)
  t.equal((await app.inject({ url: '/health', headers: { host: 'api.example.com', origin: 'https://evil.test' } })).headers['access-control-allow-origin'], undefined)
})
