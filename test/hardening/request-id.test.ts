import t from 'tap'
import Fastify from 'fastify'
import { Writable } from 'node:stream'
import { trustedHosts, requestId, requestIdOptions } from '../../plugins/index.js'

t.test('request ids: a well-formed X-Request-ID is kept, others replaced; echoed on every answer and in every log line', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const app = Fastify({ ...requestIdOptions(), logger: { stream, level: 'info' } })
  await app.register(requestId)
  await app.register(trustedHosts, { hosts: ['localhost:80'] })
  app.get('/x', async (request) => { request.log.info('in the handler'); return 'x' })
  const kept = await app.inject({ url: '/x', headers: { 'x-request-id': 'abc-123_def.456' } })
  t.equal(kept.headers['x-request-id'], 'abc-123_def.456')
  t.ok(lines.filter((l) => l.request_id === 'abc-123_def.456').length >= 3, 'incoming, handler and completed lines carry it')
  // Regression: a caller's short id such as abc-123 was replaced; any 1 to 128 safe characters are kept.
  for (const short of ['abc-123', 'a', '42']) t.equal((await app.inject({ url: '/x', headers: { 'x-request-id': short } })).headers['x-request-id'], short)
  for (const bad of ['', 'x'.repeat(129), 'has space in it', 'line\u000abreak-123', '"quoted"-123', 'ünïcode']) {
    const res = await app.inject({ url: '/x', headers: { 'x-request-id': bad } })
    t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, JSON.stringify(bad))
  }
  const refused = await app.inject({ url: '/x', headers: { host: 'evil.test', 'x-request-id': 'refused-request-1' } })
  t.equal(refused.statusCode, 400)
  t.equal(refused.headers['x-request-id'], 'refused-request-1', 'refusals carry it too')
})
