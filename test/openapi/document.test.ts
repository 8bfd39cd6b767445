import t from 'tap'
import SwaggerParser from '@apidevtools/swagger-parser'
import type { OpenAPIV3_1 } from 'openapi-types'
import { openapi } from '../../plugins/index.js'
import { schemesApp } from '../helpers/schemes.js'

async function documentedApp () {
  const fixture = await schemesApp()
  const { app } = fixture
  await app.register(openapi, { info: { title: 'Test API', version: '1.2.3' } })
  app.get(
    '/users',
    { schema: { security: [{ oauth2: ['users:read'] }, { apiKey: ['users:read'] }], response: { 200: { type: 'array', items: { type: 'string' } } } } },
    async () => []
  )
  app.get('/me', async (req) => req.auth)
  app.get('/health', { schema: { security: [] } }, async () => ({ ok: true }))
  app.get('/custom', { schema: { security: [{ basic: [] }], response: { 401: { description: 'Mine', type: 'object' } } } }, async () => 'x')
  app.post('/notes', { schema: { security: [], body: { type: 'object', properties: { text: { type: 'string', maxLength: 10 } } } } }, async () => 'x')
  // A 403 is possible as soon as one alternative, or one term of it, asks for a scope.
  app.get('/either', { schema: { security: [{ apiKey: [] }, { oauth2: ['admin'] }] } }, async () => 'x')
  app.get('/and', { schema: { security: [{ apiKey: [], oauth2: ['admin'] }] } }, async () => 'x')
  app.get('/none', { schema: { security: [{ apiKey: [] }, { oauth2: [], basic: [] }] } }, async () => 'x')
  await app.ready()
  return fixture
}

t.test('the document is valid OpenAPI 3.1 and holds the registered schemes', async (t) => {
  const { app } = await documentedApp()
  const doc = app.swagger() as OpenAPIV3_1.Document
  await SwaggerParser.validate(structuredClone(doc) as never)
  t.equal(doc.openapi, '3.1.0')
  t.same(doc.info, { title: 'Test API', version: '1.2.3' })
  t.same(doc.components?.securitySchemes, {
    oauth2: {
      type: 'oauth2',
      description:
        'OAuth2 password flow; send the access token as `Authorization: Bearer <token>`. Access tokens are JWTs ' +
        '(RFC 9068) issued and verified following RFC8725 (algorithm allow-list, typ, iss, aud, exp checked).',
      flows: { password: { tokenUrl: '/auth/token', scopes: { 'users:read': 'Read users', 'users:write': 'Create users', admin: 'Administer' } } }
    },
    apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'API key in the `X-API-Key` header (`wdn_…`); scopes are set per key.' },
    basic: { type: 'http', scheme: 'basic', description: 'HTTP Basic (RFC 7617) with a user name and password, UTF-8.' }
  })
})

t.test('every operation shows the requirement that is enforced, with 401/403 where they can happen', async (t) => {
  const { app } = await documentedApp()
  const paths = app.swagger().paths as Record<
    string,
    Record<string, { security?: unknown; responses: Record<string, { description: string; headers?: object; content?: Record<string, { schema: unknown }> }> }>
  >
  const users = paths['/users'].get
  t.same(users.security, [{ oauth2: ['users:read'] }, { apiKey: ['users:read'] }])
  t.same(Object.keys(users.responses).sort(), ['200', '401', '403'])
  t.same(users.responses['401'].content, { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } })
  t.ok(users.responses['401'].headers && 'WWW-Authenticate' in users.responses['401'].headers)

  const me = paths['/me'].get
  t.same(me.security, [{ oauth2: [] }, { apiKey: [] }, { basic: [] }], 'the default requirement is written out')
  t.same(Object.keys(me.responses).sort(), ['200', '401'], 'no 403 without scopes; the default 200 stays documented')

  const health = paths['/health'].get
  t.same(health.security, [])
  t.same(Object.keys(health.responses), ['200'])

  t.equal(paths['/custom'].get.responses['401'].description, 'Mine', "a route's own 401 is kept")
  t.same(Object.keys(paths['/either'].get.responses).sort(), ['200', '401', '403'], 'one alternative with a scope: 403 documented')
  t.same(Object.keys(paths['/and'].get.responses).sort(), ['200', '401', '403'], 'one term with a scope: 403 documented')
  t.same(Object.keys(paths['/none'].get.responses).sort(), ['200', '401'], 'no scope anywhere: no 403')
  t.notOk(
    Object.keys(paths).some((p) => p.startsWith('/docs')),
    'Swagger UI routes are not in the document'
  )
})

t.test('Swagger UI and the live document are public; persistAuthorization is on', async (t) => {
  const { app } = await documentedApp()
  const json = await app.inject({ url: '/docs/json' })
  t.equal(json.statusCode, 200)
  t.equal(json.json().openapi, '3.1.0')
  const yaml = await app.inject({ url: '/docs/yaml' })
  t.equal(yaml.statusCode, 200)
  t.match(yaml.body, /^openapi: 3\.1\.0/)
  const init = await app.inject({ url: '/docs/static/swagger-initializer.js' })
  t.equal(init.statusCode, 200)
  t.match(init.body, /"persistAuthorization":true/)
  const ui = await app.inject({ url: '/docs/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /text\/html/)
})

t.test('routePrefix false serves no UI but the document is still generated', async (t) => {
  const { app } = await schemesApp()
  await app.register(openapi, { routePrefix: false })
  app.get('/x', async () => 'x')
  await app.ready()
  t.equal((await app.inject({ url: '/docs/json' })).statusCode, 404)
  t.ok(app.swagger().paths?.['/x'])
})

t.test('Swagger UI pages get their own policy: everything from this server, no framing, no third-party validator', async (t) => {
  const { app } = await documentedApp()
  const page = await app.inject({ url: '/docs/' })
  const { DOCS_CSP } = await import('../../plugins/openapi/index.js')
  t.equal(page.headers['content-security-policy'], DOCS_CSP)
  t.notMatch(DOCS_CSP, /upgrade-insecure-requests|unsafe-eval/)
  t.match(DOCS_CSP, /frame-ancestors 'none'/)
  const init = await app.inject({ url: '/docs/static/swagger-initializer.js' })
  t.match(init.body, /"validatorUrl":null/)
})

t.test('every route that validates input documents its 400 problem, public ones too', async (t) => {
  const { app } = await documentedApp()
  const doc = app.swagger() as OpenAPIV3_1.Document
  const notes = doc.paths?.['/notes']?.post as OpenAPIV3_1.OperationObject
  t.same(Object.keys(notes.responses ?? {}).sort(), ['200', '400'])
  t.same((notes.responses?.['400'] as OpenAPIV3_1.ResponseObject).content, { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } })
  const res = await app.inject({ method: 'POST', url: '/notes', payload: { text: 'far longer than ten' } })
  t.equal(res.statusCode, 400, 'and answers it')
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
})
