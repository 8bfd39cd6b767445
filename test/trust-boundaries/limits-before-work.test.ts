import t from 'tap'
import Fastify from 'fastify'
import { plugins } from '../helpers/subject.js'
import { SECRET } from '../helpers/keys.js'

const { warden, apiKey, rateLimit, generateApiKey } = plugins

async function keyedApp () {
  const app = Fastify()
  const one = generateApiKey().key
  const two = generateApiKey().key
  await app.register(warden, { scopes: {} })
  await app.register(rateLimit, { max: 1000, timeWindow: 60_000, principal: { max: 2, timeWindow: 60_000 } })
  await app.register(apiKey, {
    secret: SECRET,
    keys: [
      { id: 'one', key: one, subject: 'svc-1', scopes: [] },
      { id: 'two', key: two, subject: 'svc-2', scopes: [] }
    ]
  })
  let parsed = 0
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    parsed++
    done(null, JSON.parse(body as string))
  })
  app.post(
    '/invoices',
    { schema: { security: [{ apiKey: [] }], body: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer' } } } } },
    async () => 'created'
  )
  app.get('/exports', { schema: { security: [{ apiKey: [] }] }, config: { rateLimit: { max: 3, timeWindow: 60_000 } } }, async () => 'export')
  t.teardown(() => app.close())
  await app.ready()
  return { app, one, two, parsed: () => parsed }
}

t.test('regression: a key over its limit is refused right after authentication, before its 900 kB body is read', async (t) => {
  const { app, one, parsed } = await keyedApp()
  const big = JSON.stringify({ amount: 'x'.repeat(900_000) })
  for (let i = 0; i < 2; i++) {
    t.equal(
      (await app.inject({ method: 'POST', url: '/invoices', headers: { 'x-api-key': one, 'content-type': 'application/json' }, payload: big })).statusCode,
      400,
      'within the limit: read, and invalid'
    )
  }
  const before = parsed()
  const over = await app.inject({ method: 'POST', url: '/invoices', headers: { 'x-api-key': one, 'content-type': 'application/json' }, payload: big })
  t.equal(over.statusCode, 429, 'counted even though its body would be refused')
  t.equal(over.headers['x-ratelimit-limit'], '2', 'the headers report the per-principal limit that applied')
  t.equal(parsed(), before, 'the body was never parsed')
})

t.test('regression: per-route limits count each principal on an authenticated route, not the shared address', async (t) => {
  const { app, one, two } = await keyedApp()
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ url: '/exports', headers: { 'x-api-key': one } })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-ratelimit-limit'], '3', 'the route limit is the one reported')
    t.equal(res.headers['x-ratelimit-remaining'], String(2 - i))
  }
  t.equal((await app.inject({ url: '/exports', headers: { 'x-api-key': one } })).statusCode, 429, 'key one has spent its budget')
  t.equal((await app.inject({ url: '/exports', headers: { 'x-api-key': two } })).statusCode, 200, 'key two, from the same address, has its own')
})
