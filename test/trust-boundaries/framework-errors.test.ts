import t from 'tap'
import Fastify from 'fastify'
import { connect } from 'node:net'
import { plugins } from '../helpers/subject.js'
import { SECRET } from '../helpers/keys.js'

const { warden, apiKey, requestId, securityHeaders, secureServerOptions, generateApiKey } = plugins

async function invoices (options = secureServerOptions()) {
  const app = Fastify(options)
  await app.register(requestId)
  await app.register(securityHeaders)
  await app.register(warden, { scopes: {} })
  await app.register(apiKey, { secret: SECRET, lookup: () => null })
  app.get('/invoices/:id', { schema: { security: [{ apiKey: [] }] } }, async () => 'invoice')
  app.post('/totals', { schema: { security: [], body: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer', minimum: 1 } } } } }, async (request) => request.body)
  return app
}

t.test('regression: a malformed URL is a problem+json 400 with the security headers, echoing no credential', async (t) => {
  const app = await invoices()
  const key = generateApiKey().key
  const res = await app.inject({ url: `/invoices/%ZZ?api_key=${key}`, headers: { 'x-request-id': 'bad-url-1' } })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(res.json(), { type: 'about:blank', title: 'Bad Request', status: 400, detail: 'The request URL is not valid.' })
  t.notOk(res.body.includes(key) || res.body.includes('%ZZ'), 'nothing of the URL is echoed')
  t.match(res.headers, { 'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'", 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'cache-control': 'no-store', 'x-request-id': 'bad-url-1' })

  const plain = Fastify()
  plain.get('/invoices/:id', async () => 'x')
  t.match((await plain.inject({ url: `/invoices/%ZZ?api_key=${key}` })).body, key, "Fastify's own answer, which the secure options replace, echoes it")
  await app.close()
})

t.test('regression: JSON bodies are not coerced: true, [500] and "42" are not integers', async (t) => {
  const app = await invoices()
  for (const amount of [true, [500], '42', ' 42 ', '0x10']) {
    const res = await app.inject({ method: 'POST', url: '/totals', payload: { amount } })
    t.equal(res.statusCode, 400, JSON.stringify(amount))
  }
  t.same((await app.inject({ method: 'POST', url: '/totals', payload: { amount: 42 } })).json(), { amount: 42 })
  const params = await app.inject({ url: '/invoices/7' })
  t.equal(params.statusCode, 401, 'text parts (params, querystring) still reach their checks')
  await app.close()
})

t.test('regression: during close() a request on a kept-alive connection gets a problem+json 503 with Retry-After', async (t) => {
  const app = await invoices()
  let release: () => void = () => {}
  let entered: () => void = () => {}
  const inside = new Promise<void>((resolve) => { entered = resolve })
  app.get('/slow', { schema: { security: [] } }, async () => { entered(); await new Promise<void>((resolve) => { release = resolve }); return 'done' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk) => { received += chunk.toString() })
  socket.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n')
  await inside
  const closed = app.close()
  socket.write('GET /invoices/1 HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: during-close\r\n\r\n')
  await new Promise((resolve) => setImmediate(resolve))
  release()
  await closed
  await new Promise((resolve) => { if (socket.closed) resolve(undefined); else socket.on('close', resolve) })
  const [first, second] = received.split(/(?=HTTP\/1\.1 )/)
  t.match(first, /^HTTP\/1\.1 200/)
  t.match(second, /^HTTP\/1\.1 503/)
  t.match(second, /retry-after: 1\r\n/i)
  t.match(second, /content-type: application\/problem\+json/i)
  t.match(second, /x-request-id: during-close/i)
  t.match(second, /x-content-type-options: nosniff/i)
  t.match(second, /"detail":"The server is shutting down; try again\."/)
})
