// Type tests: compiled by `npm run typecheck` (and before `npm test`), never run. Each
// `@ts-expect-error` must stay an error, or the type check fails.
import Fastify from 'fastify'
import warden, { apiKey, basicAuth, oauth2Bearer, openapi, type AuthPrincipal, type IssuedAccessToken, type WardenClaims } from '../../plugins/index.js'

// Users type their own claims by merging into WardenClaims.
declare module '../../plugins/core/types.js' {
  interface WardenClaims {
    tenant_id?: string
  }
}

const app = Fastify()
await app.register(warden, { scopes: { 'users:read': 'Read users' }, defaultSecurity: [{ oauth2: [] }] })
await app.register(openapi, { info: { title: 'T', version: '1' } })
await app.register(oauth2Bearer, { secret: 'x'.repeat(32), issuer: 'https://id', audience: 'https://api', cache: { max: 100 } })
await app.register(apiKey, { secret: 'x'.repeat(32), lookup: async (prefix) => prefix === 'x' ? null : null })
await app.register(basicAuth, { verify: async (username) => username === 'a' ? { subject: 'a', scopes: [] } : null })

app.get('/users', { schema: { security: [{ oauth2: ['users:read'] }, { apiKey: ['users:read'] }] } }, async (request) => {
  const auth: AuthPrincipal | null = request.auth
  if (auth === null) return null
  const scopes: readonly string[] = auth.scopes
  const tenant: string | undefined = auth.claims?.tenant_id
  const claims: Readonly<WardenClaims> | undefined = auth.claims
  // @ts-expect-error a principal is read-only
  auth.subject = 'someone else'
  // @ts-expect-error so are its scopes
  auth.scopes.push('admin')
  return { scopes, tenant, claims }
})

// request.auth is non-null where the route's own requirement demands a credential: no `!`.
app.get('/me', { schema: { security: [{ oauth2: [] }, { apiKey: [] }] } }, async (request) => request.auth.subject)
app.get('/open', { schema: { security: [] } }, async (request) => {
  const nobody: null = request.auth
  return nobody
})
app.get('/maybe', { schema: { security: [{ oauth2: [] }, {}] } }, async (request) => {
  // @ts-expect-error optional authentication: anonymous callers get null
  return request.auth.subject
})
app.get('/by-default', async (request) => {
  // @ts-expect-error the default requirement may be public (setDefaultSecurity([])): may be null
  return request.auth.subject
})
app.addHook('onRequest', async (request) => {
  // @ts-expect-error a hook runs for every route: may be null
  request.log.info(request.auth.subject)
})

const issued: IssuedAccessToken = app.accessTokens.sign({ sub: 'user-1', scope: ['users:read'], tenant_id: 't1' })
const token: string = issued.token
const verified: Promise<WardenClaims> = app.accessTokens.verify(token)
const key: { key: string, prefix: string, digest: string } = app.apiKeys.issue()
app.setDefaultSecurity([])

// @ts-expect-error security is a list of requirements, not one
app.get('/wrong', { schema: { security: { oauth2: [] } } }, async () => 'x')
// @ts-expect-error scopes are strings
app.get('/wrong2', { schema: { security: [{ oauth2: [1] }] } }, async () => 'x')
// @ts-expect-error unknown core option
await app.register(warden, { scope: {} })
// @ts-expect-error issuer and audience are required
await app.register(oauth2Bearer, { secret: 'x'.repeat(32) })
// @ts-expect-error sub is required to sign
app.accessTokens.sign({ scope: 'users:read' })

export { verified, key }
