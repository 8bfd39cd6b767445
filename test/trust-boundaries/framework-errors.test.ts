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
  app.post(
    '/totals',
    { schema: { security: [], body: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer', minimum: 1 } } } } },
    async (request) => request.body
  )
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
  t.match(res.headers, {
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
    'x-request-id': 'bad-url-1'
  })

  const plain = Fastify()
  plain.get('/invoices/:id', async () => 'x')
  t.match((await plain.inject({ url: `/invoices/%ZZ?api_key=${key}` })).body, key, "Fastify's own answer, which the secure options replace, echoes it")
  await app.close()
})

t.test('regression: JSON bodies are not coerced: true, [500] and "42" are not integers', async (t) => {
  const app = await invoices()
  app.get('/pages', { schema: { security: [], querystring: { type: 'object', properties: { limit: { type: 'integer' } } } } }, async (request) => request.query)
  for (const amount of [true, [500], '42', ' 42 ', '0x10']) {
    const res = await app.inject({ method: 'POST', url: '/totals', payload: { amount } })
    t.equal(res.statusCode, 400, JSON.stringify(amount))
  }
  t.same((await app.inject({ method: 'POST', url: '/totals', payload: { amount: 42 } })).json(), { amount: 42 })
  const params = await app.inject({ url: '/invoices/7' })
  t.equal(params.statusCode, 401, 'text parts (params, querystring) still reach their checks')
  t.same((await app.inject({ url: '/pages?limit=5' })).json(), { limit: 5 }, 'and text parts are still coerced: ?limit=5 is the integer 5')
  await app.close()
})

t.test('regression: during close() a request on a kept-alive connection gets a problem+json 503 with Retry-After', async (t) => {
  const app = await invoices()
  let release: () => void = () => {}
  let entered: () => void = () => {}
  const inside = new Promise<void>((resolve) => {
    entered = resolve
  })
  app.get('/slow', { schema: { security: [] } }, async () => {
    entered()
    await new Promise<void>((resolve) => {
      release = resolve
    })
    return 'done'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk) => {
    received += chunk.toString()
  })
  socket.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n')
  await inside
  const closed = app.close()
  socket.write('GET /invoices/1 HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: during-close\r\n\r\n')
  await new Promise((resolve) => setImmediate(resolve))
  release()
  await closed
  await new Promise((resolve) => {
    if (socket.closed) resolve(undefined)
    else socket.on('close', resolve)
  })
  const [first, second] = received.split(/(?=HTTP\/1\.1 )/)
  t.match(first, /^HTTP\/1\.1 200/)
  t.match(second, /^HTTP\/1\.1 503/)
  t.match(second, /retry-after: 1\r\n/i)
  t.match(second, /connection: close\r\n/i, 'the connection closes with it')
  t.match(second, /content-type: application\/problem\+json/i)
  t.match(second, /x-request-id: during-close/i)
  t.match(second, /x-content-type-options: nosniff/i)
  t.match(second, /"detail":"The server is shutting down; try again\."/)
})

/** What a raw client on a socket gets back after writing `request` (and nothing more): the answer and how long it took. */
async function rawAnswer (port: number, request: string, body?: { size: number }): Promise<{ answer: string; ms: number; sent: number }> {
  const started = Date.now()
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    let sent = 0
    socket.on('data', (chunk) => {
      answer += chunk.toString()
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      resolve({ answer, ms: Date.now() - started, sent })
    })
    socket.write(request)
    const chunk = Buffer.alloc(1_000_000, 'x')
    const more = (): void => {
      if (body === undefined || socket.destroyed || sent >= body.size) return
      sent += chunk.length
      if (socket.write(chunk)) setImmediate(more)
      else socket.once('drain', more)
    }
    more()
  })
}

t.test('regression: a request that never arrives whole is cut at requestTimeout with a problem+json 408', async (t) => {
  const options = secureServerOptions()
  t.equal(options.requestTimeout, 30_000, 'a request must arrive whole within 30 s')
  t.same(options.http, { headersTimeout: 30_000 }, 'and Node checks it only when headersTimeout is not longer')
  // The same options, shortened so that the test takes a second.
  const app = await invoices({ ...options, requestTimeout: 500, http: { headersTimeout: 500, connectionsCheckingInterval: 100 } } as typeof options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const slow = await rawAnswer(port, 'POST /totals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"amount":')
  t.match(slow.answer, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  t.match(slow.answer, /content-type: application\/problem\+json; charset=utf-8\r\n/)
  t.match(slow.answer, /x-content-type-options: nosniff\r\n/)
  t.match(slow.answer, /connection: close\r\n/)
  t.match(slow.answer, /"status":408,"detail":"The request did not arrive in time\."/)
  t.ok(slow.ms < 5_000, `cut after ${slow.ms} ms`)
  const garbage = await rawAnswer(port, 'NOT HTTP AT ALL\r\n\r\n')
  t.match(garbage.answer, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*"detail":"The request is not valid HTTP\."/)
  const huge = await rawAnswer(port, `GET /invoices/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  t.match(huge.answer, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n[\s\S]*"status":431,"detail":"The request headers are too large\."/)
})

t.test('regression: an answer given before the body was read closes the connection, reading a bounded rest (not 100 MB)', async (t) => {
  const app = await invoices()
  app.post('/invoices', { schema: { security: [{ apiKey: [] }] } }, async () => 'created')
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const refused = await rawAnswer(port, 'POST /invoices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n', {
    size: 104_857_600
  })
  t.match(refused.answer, /^HTTP\/1\.1 401 /, 'refused at once, before the body')
  t.match(refused.answer, /connection: close\r\n/i)
  t.ok(refused.sent <= 40_000_000, `the server stopped reading after ${(refused.sent / 1e6).toFixed(0)} MB (16 MiB past the answer, and the socket buffers)`)
})
