import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { warden, oauth2Bearer, openapi, apiKey, generateApiKey } from '../../plugins/index.js'
import { SECRET, ISSUER, AUDIENCE } from '../helpers/keys.js'

// What other plugins contribute to the document goes through the core: a token endpoint's flows
// into the scheme that its tokens belong to, headers every answer may carry into every response.
const SCOPES = { 'notes:read': 'Read notes', 'notes:write': 'Write notes' }
const bearer = { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, tokenUrl: '/assumed', scopes: ['notes:read'] }

/** A plugin serving a token endpoint of its own, as oauth2Server does. */
const endpoint = (grants: string[]) => fp(async (app: FastifyInstance) => {
  app.warden.addTokenEndpoint('oauth2', { url: '/token', grants })
}, { name: 'token-endpoint', dependencies: ['fastify-warden'] })

async function documented (build: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await build(app)
  await app.ready()
  t.teardown(() => app.close())
  return app
}

t.test('a token endpoint\'s flows show in the scheme, registered before or after it', async (t) => {
  const expected = { password: { tokenUrl: '/token', refreshUrl: '/token', scopes: { 'notes:read': 'Read notes' } } }
  for (const first of ['endpoint', 'scheme'] as const) {
    const app = await documented(async (app) => {
      if (first === 'endpoint') await app.register(endpoint(['password', 'refresh_token']))
      await app.register(oauth2Bearer, bearer)
      if (first === 'scheme') await app.register(endpoint(['password', 'refresh_token']))
    })
    const own = app.warden.schemes.get('oauth2')?.openapi as { description: string, flows: unknown }
    const shown = app.warden.securitySchemes().oauth2
    t.same(shown, { type: 'oauth2', description: own.description, flows: expected }, `${first} first`)
    t.same(own.flows, { password: { tokenUrl: '/assumed', scopes: { 'notes:read': 'Read notes' } } },
      `${first} first: the scheme's own object is left as it registered it`)
  }
})

t.test('without the password grant the assumed password flow goes; client credentials are added', async (t) => {
  const app = await documented(async (app) => {
    await app.register(oauth2Bearer, bearer)
    await app.register(endpoint(['client_credentials']))
  })
  t.same(app.warden.securitySchemes().oauth2, {
    type: 'oauth2',
    description: app.warden.schemes.get('oauth2')?.openapi.description,
    flows: { clientCredentials: { tokenUrl: '/token', scopes: { 'notes:read': 'Read notes' } } }
  })
})

t.test('a provider\'s flows named by the app stay beside the endpoint\'s', async (t) => {
  const authorizationCode = {
    authorizationUrl: 'https://id.example/authorize',
    tokenUrl: 'https://id.example/token',
    scopes: { 'notes:read': 'Read notes' }
  }
  const app = await documented(async (app) => {
    await app.register(oauth2Bearer, { ...bearer, documentation: { flows: { authorizationCode } } })
    await app.register(endpoint(['password']))
  })
  t.same((app.warden.securitySchemes().oauth2 as { flows: unknown }).flows, {
    authorizationCode,
    password: { tokenUrl: '/token', scopes: { 'notes:read': 'Read notes' } }
  })
})

t.test('schemes without flows are shown as they registered; an endpoint for them changes nothing', async (t) => {
  const app = await documented(async (app) => {
    const keys = [{ id: 'k', key: generateApiKey().key, subject: 's', scopes: [] }]
    await app.register(apiKey, { secret: SECRET, name: 'oauth2', keys })
    await app.register(endpoint(['password']))
  })
  t.equal(app.warden.securitySchemes().oauth2, app.warden.schemes.get('oauth2')?.openapi)
})

t.test('a second token endpoint for one scheme, or a malformed one, fails at registration', async (t) => {
  const twice = Fastify()
  await twice.register(warden, { scopes: SCOPES })
  twice.warden.addTokenEndpoint('oauth2', { url: '/token', grants: ['password'] })
  t.throws(() => { twice.warden.addTokenEndpoint('oauth2', { url: '/other', grants: ['password'] }) },
    { code: 'WARDEN_ERR_OPTION', message: /option 'tokenEndpoint\.oauth2' is already served by another/ })
  t.throws(() => { twice.warden.addTokenEndpoint('b', { url: '', grants: [] }) },
    { code: 'WARDEN_ERR_OPTION', message: /tokenEndpoint\.url/ })
  t.throws(() => { twice.warden.addTokenEndpoint('c', { url: '/t', grants: 'password' as unknown as string[] }) },
    { code: 'WARDEN_ERR_OPTION', message: /tokenEndpoint\.grants/ })
  await twice.close()
})

t.test('headers a plugin documents through the core are on every response of the document', async (t) => {
  const header = { description: 'The request id', schema: { type: 'string' as const, maxLength: 128 } }
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(openapi, { routePrefix: false })
  await app.register(fp(async (app) => { app.warden.addResponseHeaders({ 'X-Request-ID': header }) }, { name: 'ids' }))
  await app.register(oauth2Bearer, bearer)
  app.get('/open', { schema: { security: [], response: { 200: { type: 'string' } } } }, async () => 'x')
  const response = { 200: { type: 'string' } }
  app.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }], response } }, async () => 'x')
  await app.ready()
  t.teardown(() => app.close())
  t.same(app.warden.responseHeaders, { 'X-Request-ID': header })
  type Responses = Record<string, { headers?: Record<string, unknown> }>
  const doc = app.swagger() as { paths: Record<string, { get: { responses: Responses } }> }
  t.same(doc.paths['/open'].get.responses['200'].headers, { 'X-Request-ID': header })
  for (const status of ['200', '401', '403']) {
    t.match(doc.paths['/notes'].get.responses[status].headers, { 'X-Request-ID': header }, `/notes ${status}`)
  }
  t.ok(doc.paths['/notes'].get.responses['401'].headers?.['WWW-Authenticate'], 'a response\'s own headers stay')
  t.throws(() => { app.warden.addResponseHeaders({ 'x-request-id': header }) },
    { code: 'WARDEN_ERR_OPTION', message: /option 'responseHeaders\.x-request-id' is already documented by another/ })
  t.throws(() => { app.warden.addResponseHeaders({ 'X-Other': null as unknown as object }) },
    { code: 'WARDEN_ERR_OPTION', message: /responseHeaders\.X-Other/ })
  const copy = app.warden.responseHeaders as Record<string, unknown>
  copy['X-Sneaky'] = header
  t.notOk('X-Sneaky' in app.warden.responseHeaders, 'what the core returns is a copy')
})
