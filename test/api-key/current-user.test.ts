import t from 'tap'
import Fastify from 'fastify'
import { warden, apiKey, generateApiKey, type ApiKeyOptions, type WardenUser } from '../../plugins/index.js'
import { SECRET } from '../helpers/keys.js'
import { SCOPES, NOW } from '../helpers/schemes.js'

const key = generateApiKey().key
const keys = [{ id: 'k1', key, subject: 'u-1', scopes: ['users:read'] }]

async function keyApp (opts: Partial<ApiKeyOptions>, lines: Array<Record<string, unknown>> = []) {
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  await app.register(warden, { scopes: SCOPES })
  await app.register(apiKey, { secret: SECRET, now: () => NOW, keys, ...opts } as ApiKeyOptions)
  app.get('/r', { schema: { security: [{ apiKey: ['users:read'] }] } }, async (req) => req.auth)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('resolveUser: the owner of a key on every request, cached keys included; null refuses the key', async (t) => {
  const owners = new Map<string, WardenUser>([['u-1', { name: 'Ada' }]])
  const seen: string[] = []
  const used: string[] = []
  const lines: Array<Record<string, unknown>> = []
  const app = await keyApp({
    cache: { max: 10, ttl: 30 },
    resolveUser: async (record) => { seen.push(record.id); return owners.get(record.subject) ?? null },
    onUse: (record) => { used.push(record.id) }
  }, lines)
  const first = await app.inject({ url: '/r', headers: { 'x-api-key': key } })
  t.equal(first.statusCode, 200)
  t.same(first.json(), { scheme: 'apiKey', subject: 'u-1', scopes: ['users:read'], apiKeyId: 'k1', user: { name: 'Ada' } }, 'the owner is request.auth.user')
  owners.delete('u-1')
  const gone = await app.inject({ url: '/r', headers: { 'x-api-key': key } })
  t.equal(gone.statusCode, 401, 'the owner is gone: refused, though the key is in the verified-key cache')
  t.match(gone.headers['www-authenticate'], /error="invalid_token"/)
  t.same(seen, ['k1', 'k1'], 'asked on each request')
  t.same(used, ['k1'], 'a refused use is not recorded')
  t.match(lines.find((l) => l.event === 'auth.failed'), { scheme: 'apiKey', reason: 'user', api_key: 'k1' })
})

t.test('resolveUser: a wrong shape fails closed, a throw is a 503', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const wrong = await keyApp({ resolveUser: (() => 'ada') as never }, lines)
  t.equal((await wrong.inject({ url: '/r', headers: { 'x-api-key': key } })).statusCode, 401)
  t.match(lines.find((l) => l.event === 'auth.callback.invalid'), { callback: 'apiKey.resolveUser', field: '(result)', expected: 'must be an object or null' })
  const down = await keyApp({ resolveUser: async () => { throw new Error('database down') } })
  const res = await down.inject({ url: '/r', headers: { 'x-api-key': key } })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  await t.rejects(keyApp({ resolveUser: 'yes' as never }), { code: 'WARDEN_ERR_OPTION', message: /option 'resolveUser' must be a function/ })
})
