import t from 'tap'
import Fastify from 'fastify'
import { cors, warden, apiKey, generateApiKey, type CorsOptions } from '../../plugins/index.js'
import { SECRET } from '../helpers/keys.js'

async function corsApp (opts: CorsOptions) {
  const app = Fastify()
  await app.register(warden)
  await app.register(cors, opts)
  await app.register(apiKey, { secret: SECRET, keys: [{ id: 'k', key: generateApiKey().key, subject: 's', scopes: [] }] })
  app.get('/data', { schema: { security: [{ apiKey: [] }] } }, async () => ({ ok: true }))
  app.get('/open', { schema: { security: [] } }, async () => ({ ok: true }))
  await app.ready()
  return app
}

t.test('an allowed origin gets its own origin back, with credentials and Vary: Origin', async (t) => {
  const app = await corsApp({ origins: ['https://app.example.com'] })
  const res = await app.inject({ url: '/open', headers: { origin: 'https://app.example.com' } })
  t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com')
  t.equal(res.headers['access-control-allow-credentials'], 'true')
  t.match(res.headers.vary, /Origin/)
  t.match(res.headers['access-control-expose-headers'], /X-Request-ID/)
  t.match(res.headers['access-control-expose-headers'], /DPoP-Nonce, Mcp-Session-Id, Mcp-Protocol-Version$/, 'a browser reads the DPoP nonce and the MCP session')
  const denied = await app.inject({ url: '/data', headers: { origin: 'https://app.example.com' } })
  t.equal(denied.statusCode, 401)
  t.equal(denied.headers['access-control-allow-origin'], 'https://app.example.com', 'a 401 is readable by the allowed front end')
})

t.test('lookalike origins get no Access-Control-Allow-Origin', async (t) => {
  const app = await corsApp({ origins: ['https://app.example.com'] })
  for (const origin of ['https://app.example.com.evil.test', 'https://evil.test', 'http://app.example.com', 'https://app.example.com:8443', 'null', 'https://APP.example.com.', 'https://sub.app.example.com', 'https://app.example.co']) {
    const res = await app.inject({ url: '/open', headers: { origin } })
    t.equal(res.headers['access-control-allow-origin'], undefined, origin)
    t.equal(res.headers['access-control-allow-credentials'], undefined, origin)
    const preflight = await app.inject({ method: 'OPTIONS', url: '/data', headers: { origin, 'access-control-request-method': 'GET' } })
    t.equal(preflight.headers['access-control-allow-origin'], undefined, `preflight ${origin}`)
  }
})

t.test('preflight: allowed methods and headers, cached for max_age, never blocked by authentication', async (t) => {
  const app = await corsApp({ origins: ['https://app.example.com'], maxAge: 900 })
  const res = await app.inject({ method: 'OPTIONS', url: '/data', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,x-api-key' } })
  t.equal(res.statusCode, 204)
  t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com')
  t.equal(
    res.headers['access-control-allow-headers'],
    'Authorization, Content-Type, X-API-Key, X-Request-ID, DPoP, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID',
    'DPoP proofs and the MCP Streamable HTTP headers too'
  )
  t.match(res.headers['access-control-allow-methods'], /POST/)
  t.equal(res.headers['access-control-max-age'], '900')
})

t.test('development adds the local front-end ports; production does not', async (t) => {
  const dev = await corsApp({ origins: ['https://app.example.com'], environment: 'development' })
  t.equal((await dev.inject({ url: '/open', headers: { origin: 'http://localhost:5173' } })).headers['access-control-allow-origin'], 'http://localhost:5173')
  const prod = await corsApp({ origins: ['https://app.example.com'], environment: 'production' })
  t.equal((await prod.inject({ url: '/open', headers: { origin: 'http://localhost:5173' } })).headers['access-control-allow-origin'], undefined)
})

t.test('a wildcard origin with credentials, or a malformed origin, fails at registration', async (t) => {
  const start = async (opts: CorsOptions) => { const app = Fastify(); await app.register(cors, opts); await app.ready() }
  await t.rejects(start({ origins: ['*'] }), { code: 'WARDEN_ERR_OPTION', message: /option 'origins' '\*' with credentials/ })
  for (const origin of ['app.example.com', 'https://app.example.com/', 'null', 'ftp://files.example.com']) {
    await t.rejects(start({ origins: [origin] }), { code: 'WARDEN_ERR_OPTION', message: /option 'origins\[0\]'/ }, origin)
  }
  const open = Fastify()
  await open.register(cors, { origins: ['*'], credentials: false })
  open.get('/x', async () => 'x')
  const res = await open.inject({ url: '/x', headers: { origin: 'https://anyone.test' } })
  t.equal(res.headers['access-control-allow-origin'], '*', 'a public API without credentials may use *')
  t.equal(res.headers['access-control-allow-credentials'], undefined)
})

t.test('regression: the document states the CORS answer headers, from the configuration, so define-cors-origin passes', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { warden, openapi, cors, apiKey } = await import('../../plugins/index.js')
  const documented = async (withCors: 'before the core' | 'after the core' | false) => {
    const app = Fastify()
    const origins = ['https://app.example.com', 'https://admin.example.com']
    if (withCors === 'before the core') await app.register(cors, { origins })
    await app.register(warden)
    if (withCors === 'after the core') await app.register(cors, { origins })
    await app.register(openapi, { routePrefix: false })
    await app.register(apiKey, { secret: SECRET, lookup: () => null })
    app.get('/open', { schema: { security: [], response: { 200: { type: 'string' } } } }, async () => 'x')
    await app.ready()
    const doc = app.swagger() as { paths: Record<string, { get: { responses: Record<string, { headers?: Record<string, { schema?: unknown }> }> } }> }
    await app.close()
    return doc.paths['/open'].get.responses['200'].headers
  }
  const before = await documented('before the core')
  t.match(before, {
    'Access-Control-Allow-Origin': { schema: { type: 'string', enum: ['https://app.example.com', 'https://admin.example.com'] } },
    'Access-Control-Allow-Credentials': { schema: { enum: ['true'] } },
    Vary: {}
  })
  t.same(await documented('after the core'), before, 'cors after the core documents the same headers')
  t.equal(await documented(false), undefined, 'no cors plugin, no CORS headers documented')
})

t.test('cors without the core answers as configured and documents nothing', async (t) => {
  const { default: Fastify } = await import('fastify')
  const app = Fastify()
  await app.register(cors, { origins: ['https://app.example.com'] })
  app.get('/x', async () => 'x')
  await app.ready()
  t.equal(app.hasDecorator('warden'), false)
  const res = await app.inject({ url: '/x', headers: { origin: 'https://app.example.com' } })
  t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com')
  await app.close()
})
