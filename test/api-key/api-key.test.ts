import t from 'tap'
import Fastify from 'fastify'
import { warden, apiKey, generateApiKey, type ApiKeyOptions, type ApiKeyRecord } from '../../plugins/index.js'
import {
  API_KEY_LENGTH,
  API_KEY_PATTERN,
  API_KEY_PREFIX_LENGTH,
  API_KEY_PREFIX_PATTERN,
  apiKeyPrefix,
  checksum,
  claimedPrefix
} from '../../plugins/api-key/format.js'
import { SECRET } from '../helpers/keys.js'
import { SCOPES, NOW } from '../helpers/schemes.js'

async function keyApp (opts: Partial<ApiKeyOptions>) {
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(apiKey, { secret: SECRET, now: () => NOW, ...opts } as ApiKeyOptions)
  app.get('/r', { schema: { security: [{ apiKey: ['users:read'] }] } }, async (req) => req.auth)
  await app.ready()
  return app
}

t.test('generated keys have the documented shape and a checksum', async (t) => {
  const { key, prefix } = generateApiKey()
  t.match(key, /^wdn_[A-Za-z0-9]{8}_[A-Za-z0-9]{38}$/)
  t.equal(key.length, 51)
  t.equal(apiKeyPrefix(key), prefix)
  t.equal(key.slice(4, 12), prefix)
  const typo = key.slice(0, 20) + (key[20] === 'a' ? 'b' : 'a') + key.slice(21)
  t.equal(apiKeyPrefix(typo), undefined, 'a one-character typo fails the checksum')
  t.equal(apiKeyPrefix(key + 'x'), undefined)
  t.equal(apiKeyPrefix('wdn_' + 'a'.repeat(47)), undefined)
  const many = new Set(Array.from({ length: 200 }, () => generateApiKey().key))
  t.equal(many.size, 200)
})

t.test('the format has one owner: its constants are the documented shape', async (t) => {
  t.equal(API_KEY_PATTERN, '^wdn_[A-Za-z0-9]{8}_[A-Za-z0-9]{38}$', 'the pattern a response schema documents')
  t.equal(API_KEY_PREFIX_PATTERN, '^[A-Za-z0-9]{8}$')
  t.equal(API_KEY_LENGTH, 51)
  t.equal(API_KEY_PREFIX_LENGTH, 8)
  const { key, prefix } = generateApiKey()
  t.match(key, new RegExp(API_KEY_PATTERN))
  t.match(prefix, new RegExp(API_KEY_PREFIX_PATTERN))
  t.equal(claimedPrefix(key), prefix, 'where the cache looks a key up')
  t.equal(claimedPrefix('x'.repeat(51)), 'x'.repeat(8), 'unchecked: the cached key is compared whole')
  t.equal(claimedPrefix(key + 'x'), undefined)
  t.equal(claimedPrefix(key.slice(1)), undefined)
})

t.test('stored keys: looked up by prefix, compared by HMAC digest, never by the key itself', async (t) => {
  const lookups: string[] = []
  const used: string[] = []
  const store = new Map<string, ApiKeyRecord>()
  const app = await keyApp({
    lookup: async (prefix) => {
      lookups.push(prefix)
      return store.get(prefix) ?? null
    },
    onUse: (record) => {
      used.push(record.id)
    }
  })
  const issued = app.apiKeys.issue()
  t.equal(issued.digest, app.apiKeys.digest(issued.key))
  t.notMatch(issued.digest, issued.key.slice(13))
  store.set(issued.prefix, { id: 'k1', digest: issued.digest, subject: 'user-1', scopes: ['users:read'], expiresAt: null })

  const ok = await app.inject({ url: '/r', headers: { 'x-api-key': issued.key } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { scheme: 'apiKey', subject: 'user-1', scopes: ['users:read'], apiKeyId: 'k1' })
  t.same(used, ['k1'])

  // Same prefix and checksum-valid, wrong secret: found by prefix, refused by digest.
  const other = generateApiKey()
  const forged = `wdn_${issued.prefix}_${other.key.slice(13)}`
  const wrongSecret = forged.slice(0, -6) + checksum(forged.slice(0, -6))
  t.equal(apiKeyPrefix(wrongSecret), issued.prefix)
  const bad = await app.inject({ url: '/r', headers: { 'x-api-key': wrongSecret } })
  t.equal(bad.statusCode, 401)
  t.equal(bad.headers['www-authenticate'], 'ApiKey realm="api", header="X-API-Key", error="invalid_token", scope="users:read"')

  lookups.length = 0
  const typo = await app.inject({ url: '/r', headers: { 'x-api-key': issued.key.slice(0, -1) + (issued.key.endsWith('0') ? '1' : '0') } })
  t.equal(typo.statusCode, 401)
  t.same(lookups, [], 'a key with a bad checksum is refused before any lookup')

  const unknown = await app.inject({ url: '/r', headers: { 'x-api-key': generateApiKey().key } })
  t.equal(unknown.statusCode, 401)
  t.same(used, ['k1'], 'failed uses are not reported as uses')
})

t.test('per-key scopes and expiry are enforced', async (t) => {
  const store = new Map<string, ApiKeyRecord>()
  const app = await keyApp({ lookup: (prefix) => store.get(prefix) ?? null })
  const reader = app.apiKeys.issue()
  const writer = app.apiKeys.issue()
  const expired = app.apiKeys.issue()
  store.set(reader.prefix, { id: 'r', digest: reader.digest, subject: 'u', scopes: ['users:read'], expiresAt: NOW / 1000 + 1 })
  store.set(writer.prefix, { id: 'w', digest: writer.digest, subject: 'u', scopes: ['users:write'] })
  store.set(expired.prefix, { id: 'e', digest: expired.digest, subject: 'u', scopes: ['users:read'], expiresAt: NOW / 1000 })
  t.equal((await app.inject({ url: '/r', headers: { 'x-api-key': reader.key } })).statusCode, 200)
  const weak = await app.inject({ url: '/r', headers: { 'x-api-key': writer.key } })
  t.equal(weak.statusCode, 403)
  t.equal(weak.headers['www-authenticate'], 'ApiKey realm="api", header="X-API-Key", error="insufficient_scope", scope="users:read"')
  t.equal((await app.inject({ url: '/r', headers: { 'x-api-key': expired.key } })).statusCode, 401)
})

t.test('static keys from configuration are held only as digests', async (t) => {
  const { key } = generateApiKey()
  const opts = { keys: [{ id: 'svc', key, subject: 'billing', scopes: ['users:read'] }] }
  const app = await keyApp(opts)
  t.equal((await app.inject({ url: '/r', headers: { 'x-api-key': key } })).statusCode, 200)
  t.equal(opts.keys[0].key, key, 'the options object is not mutated')
  t.equal((await app.inject({ url: '/r', headers: { 'x-api-key': generateApiKey().key } })).statusCode, 401, 'no lookup configured: unknown keys fail')
})

t.test('keys are read from the header only, never from the query string', async (t) => {
  const { key } = generateApiKey()
  const app = await keyApp({ keys: [{ id: 'svc', key, subject: 's', scopes: ['users:read'] }] })
  const res = await app.inject({ url: `/r?api_key=${key}&x-api-key=${key}` })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'ApiKey realm="api", header="X-API-Key", scope="users:read"')
  t.equal((await app.inject({ url: '/r', headers: { 'x-api-key': [key, key] } })).statusCode, 401, 'a repeated header is not a key')
})

t.test('the header name is an option', async (t) => {
  const { key } = generateApiKey()
  const app = await keyApp({ header: 'X-Service-Key', keys: [{ id: 'svc', key, subject: 's', scopes: ['users:read'] }] })
  t.equal((await app.inject({ url: '/r', headers: { 'x-service-key': key } })).statusCode, 200)
  t.equal((await app.inject({ url: '/r', headers: { 'x-api-key': key } })).statusCode, 401)
  t.match(app.warden.schemes.get('apiKey')?.openapi, { type: 'apiKey', in: 'header', name: 'X-Service-Key' })
})

t.test('options are validated at registration', async (t) => {
  const { key } = generateApiKey()
  const cases: Array<[Partial<ApiKeyOptions>, RegExp]> = [
    [{ secret: 'short' }, /option 'secret' must be at least 32 bytes/],
    [{ secret: undefined }, /option 'secret'/],
    [{}, /option 'lookup' or 'keys' must be given/],
    [{ header: 'Authorization', lookup: () => null }, /option 'header'/],
    [{ header: 'X Bad', lookup: () => null }, /option 'header'/],
    [{ lookup: 'db' as never }, /option 'lookup' must be a function/],
    [{ keys: [{ id: 'a', key: 'plain-text-key', subject: 's', scopes: [] }] }, /option 'keys\[0\].key' is not a well-formed key/],
    [{ keys: [{ id: 'a', key, subject: 's', scopes: ['root'] }] }, /option 'keys\[0\].scopes' names scope 'root'/],
    [
      {
        keys: [
          { id: 'a', key, subject: 's', scopes: [] },
          { id: 'b', key, subject: 's', scopes: [] }
        ]
      },
      /option 'keys\[1\].key' has the prefix of another key/
    ],
    [{ keys: [{ id: '', key, subject: 's', scopes: [] }] }, /option 'keys\[0\].id'/]
  ]
  for (const [opts, message] of cases) {
    const app = Fastify()
    await app.register(warden, { scopes: SCOPES })
    app.register(apiKey, { secret: SECRET, ...opts } as ApiKeyOptions)
    await t.rejects(
      (async () => {
        await app.ready()
      })(),
      { code: 'WARDEN_ERR_OPTION', message },
      message.source
    )
  }
})

t.test("a stored record's user is request.auth.user (a record without one has none); an expired key's refusal names the key, never the secret", async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const store = new Map<string, ApiKeyRecord>()
  const app = Fastify({
    logger: {
      level: 'info',
      stream: {
        write: (line: string) => {
          lines.push(JSON.parse(line))
        }
      }
    }
  })
  await app.register(warden, { scopes: SCOPES })
  await app.register(apiKey, { secret: SECRET, now: () => NOW, lookup: (prefix) => store.get(prefix) ?? null })
  app.get('/r', { schema: { security: [{ apiKey: ['users:read'] }] } }, async (req) => ({ ...req.auth, hasUser: 'user' in req.auth! }))
  t.teardown(() => app.close())
  await app.ready()
  const owned = app.apiKeys.issue()
  const bare = app.apiKeys.issue()
  const expired = app.apiKeys.issue()
  store.set(owned.prefix, { id: 'o', digest: owned.digest, subject: 'u-1', scopes: ['users:read'], user: { name: 'Ada' } })
  store.set(bare.prefix, { id: 'b', digest: bare.digest, subject: 'u-2', scopes: ['users:read'] })
  store.set(expired.prefix, { id: 'e', digest: expired.digest, subject: 'u-3', scopes: ['users:read'], expiresAt: NOW / 1000 - 1 })
  t.same((await app.inject({ url: '/r', headers: { 'x-api-key': owned.key } })).json(), {
    scheme: 'apiKey',
    subject: 'u-1',
    scopes: ['users:read'],
    apiKeyId: 'o',
    user: { name: 'Ada' },
    hasUser: true
  })
  t.same((await app.inject({ url: '/r', headers: { 'x-api-key': bare.key } })).json(), {
    scheme: 'apiKey',
    subject: 'u-2',
    scopes: ['users:read'],
    apiKeyId: 'b',
    hasUser: false
  })
  t.equal((await app.inject({ url: '/r', headers: { 'x-api-key': expired.key } })).statusCode, 401)
  t.match(
    lines.find((l) => l.event === 'auth.failed'),
    { scheme: 'apiKey', reason: 'expired', api_key: 'e' }
  )
  t.notMatch(JSON.stringify(lines), expired.key.slice(12), 'the secret part is never logged')
})
