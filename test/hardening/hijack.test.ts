import t from 'tap'
import Fastify from 'fastify'
import { cors, securityHeaders, requestId, requestIdOptions, warden, apiKey, generateApiKey, hijackWithHeaders } from '../../plugins/index.js'
import { SECRET } from '../helpers/keys.js'

// A hijacked reply (how the MCP SDK's transport, or an SSE library, is mounted) is written on the
// raw response: hijackWithHeaders() keeps what the app's hooks set for it.

const ORIGIN = 'https://app.example.com'

async function hijackApp () {
  const key = generateApiKey().key
  const app = Fastify(requestIdOptions())
  await app.register(warden)
  await app.register(requestId)
  await app.register(securityHeaders)
  await app.register(cors, { origins: [ORIGIN] })
  await app.register(apiKey, { secret: SECRET, keys: [{ id: 'k', key, subject: 's', scopes: [] }] })
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('content-length', '999').header('x-hook', 'set by a hook')
  })
  for (const [url, hijack] of [['/kept', hijackWithHeaders], ['/bare', (reply: { hijack: () => unknown }) => reply.hijack()]] as const) {
    app.post(url, { schema: { security: [{ apiKey: [] }, {}] } }, async (request, reply) => {
      hijack(reply)
      // What a transport does: its own status and headers, then the body.
      const sse = request.headers.accept === 'text/event-stream'
      reply.raw.writeHead(200, sse ? { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } : { 'content-type': 'application/json' })
      reply.raw.end(sse ? 'data: {}\n\n' : '{"jsonrpc":"2.0","id":1,"result":{}}')
    })
  }
  await app.ready()
  return { app, key }
}

t.test('the headers hooks set reach the raw response: CORS, request id, security headers, no-store when authenticated', async (t) => {
  const { app, key } = await hijackApp()
  const res = await app.inject({ method: 'POST', url: '/kept', headers: { origin: ORIGIN, 'x-api-key': key } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], ORIGIN)
  t.equal(res.headers['access-control-allow-credentials'], 'true')
  t.match(res.headers['access-control-expose-headers'], /Mcp-Session-Id, Mcp-Protocol-Version/)
  t.match(res.headers.vary, /Origin/)
  t.match(res.headers['x-request-id'], /^[\w-]+$/)
  t.equal(res.headers['x-hook'], 'set by a hook')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['cache-control'], 'no-store', 'an authenticated answer is not stored')
  t.equal(res.headers['content-type'], 'application/json', 'the writer\'s own headers')
  t.equal(res.headers['content-length'], undefined, 'never the framing a hook guessed: the writer frames its body')
  t.same(res.json(), { jsonrpc: '2.0', id: 1, result: {} })

  const stream = await app.inject({ method: 'POST', url: '/kept', headers: { origin: ORIGIN, accept: 'text/event-stream' } })
  t.equal(stream.headers['access-control-allow-origin'], ORIGIN)
  t.equal(stream.headers['cache-control'], 'no-cache', 'what the writer sets wins; an anonymous answer gets no no-store of ours')

  const authenticatedStream = await app.inject({ method: 'POST', url: '/kept', headers: { 'x-api-key': key, accept: 'text/event-stream' } })
  t.equal(authenticatedStream.headers['cache-control'], 'no-cache, no-store', 'an authenticated stream: no-store added to the writer\'s own')

  const bare = await app.inject({ method: 'POST', url: '/bare', headers: { origin: ORIGIN, 'x-api-key': key } })
  t.equal(bare.headers['access-control-allow-origin'], undefined, 'reply.hijack() alone loses them: what this helper is for')
})

t.test('a lookalike origin still gets nothing', async (t) => {
  const { app } = await hijackApp()
  const res = await app.inject({ method: 'POST', url: '/kept', headers: { origin: 'https://app.example.com.evil.test' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal(res.headers['access-control-allow-credentials'], undefined)
})

t.test('no-store whatever form the writer gives its headers in, and the writer\'s own headers object left as it was', async (t) => {
  const { key } = await hijackApp()
  const shared = Object.freeze({ 'content-type': 'text/event-stream', 'Cache-Control': 'public, max-age=600' })
  const app = Fastify()
  await app.register(warden)
  await app.register(apiKey, { secret: SECRET, keys: [{ id: 'k', key, subject: 's', scopes: [] }] })
  app.get('/:form', { schema: { security: [{ apiKey: [] }] } }, async (request, reply) => {
    hijackWithHeaders(reply)
    const form = (request.params as { form: string }).form
    if (form === 'list') reply.raw.writeHead(200, ['content-type', 'text/plain', 'Cache-Control', 'public, max-age=600'])
    else if (form === 'object') reply.raw.writeHead(200, shared)
    else if (form === 'message') reply.raw.writeHead(200, 'OK', shared)
    else reply.raw.setHeader('cache-control', 'public')
    reply.raw.end('x')
  })
  await app.ready()
  for (const form of ['list', 'object', 'message', 'implicit']) {
    const res = await app.inject({ url: `/${form}`, headers: { 'x-api-key': key } })
    t.equal(res.statusCode, 200, form)
    t.match(res.headers['cache-control'], /no-store/, `${form}: ${String(res.headers['cache-control'])}`)
  }
  t.equal(shared['Cache-Control'], 'public, max-age=600', 'a frozen, shared headers object is neither changed nor a reason to hang')
})
