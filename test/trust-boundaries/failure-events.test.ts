import t from 'tap'
import Fastify from 'fastify'
import { plugins } from '../helpers/subject.js'
import { SECRET } from '../helpers/keys.js'

const { warden, apiKey, basicAuth, oauth2Bearer, generateApiKey, requestIdOptions } = plugins

t.test('regression: every failed authentication is one typed security event, never with the secret', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({
    ...requestIdOptions(),
    logger: {
      level: 'info',
      stream: {
        write: (line: string) => {
          lines.push(JSON.parse(line))
        }
      }
    }
  })
  let now = Date.now()
  await app.register(warden, { scopes: { 'invoices:read': 'Read invoices' } })
  await app.register(oauth2Bearer, { secret: SECRET, issuer: 'https://id', audience: 'https://api', now: () => now })
  const known = generateApiKey()
  await app.register(apiKey, { secret: SECRET, keys: [{ id: 'svc-1', key: known.key, subject: 'svc', scopes: [] }] })
  await app.register(basicAuth, { verify: (username, password) => (username === 'ada' && password === 'right' ? { subject: 'ada', scopes: [] } : null) })
  app.get('/r', { schema: { security: [{ oauth2: [] }, { apiKey: [] }, { basic: [] }] } }, async () => 'ok')
  await app.ready()

  const expiring = app.accessTokens.sign({ sub: 'user-7' }, { expiresIn: 60 })
  const forged = app.accessTokens.sign({ sub: 'user-8' }).token.slice(0, -4) + 'AAAA'
  const unknownKey = generateApiKey().key
  const attempts: Array<[string, Record<string, string>, Record<string, unknown>]> = [
    ['malformed key', { 'x-api-key': 'not-a-key' }, { scheme: 'apiKey', reason: 'malformed' }],
    ['unknown key', { 'x-api-key': unknownKey }, { scheme: 'apiKey', reason: 'unknown', key_prefix: unknownKey.slice(4, 12) }],
    ['forged token', { authorization: `Bearer ${forged}` }, { scheme: 'oauth2', reason: 'signature' }],
    ['garbage token', { authorization: 'Bearer abc.def' }, { scheme: 'oauth2', reason: 'malformed' }],
    ['wrong password', { authorization: 'Basic ' + Buffer.from('ada:wrong').toString('base64') }, { scheme: 'basic', reason: 'rejected' }],
    ['bad Basic encoding', { authorization: 'Basic %%%' }, { scheme: 'basic', reason: 'malformed' }]
  ]
  for (const [what, headers, event] of attempts) {
    lines.length = 0
    const res = await app.inject({ url: '/r', headers: { ...headers, 'x-request-id': `req-${what.replace(/ /g, '-')}` } })
    t.equal(res.statusCode, 401, what)
    const events = lines.filter((l) => l.event === 'auth.failed')
    t.equal(events.length, 1, `${what}: logged once`)
    t.match(events[0], { ...event, level: 30, request_id: `req-${what.replace(/ /g, '-')}`, ip: '127.0.0.1' }, what)
    const secret = headers['x-api-key'] ?? headers.authorization
    t.notOk(JSON.stringify(lines).includes(secret.slice(-20)), `${what}: the secret is in no log line`)
  }

  now += 120_000
  lines.length = 0
  t.equal((await app.inject({ url: '/r', headers: { authorization: `Bearer ${expiring.token}` } })).statusCode, 401)
  t.match(
    lines.find((l) => l.event === 'auth.failed'),
    { scheme: 'oauth2', reason: 'expired', sub: 'user-7', jti: expiring.jti },
    'an authentic but expired token is named by jti and sub'
  )
  t.match(
    lines.find((l) => l.msg === 'first access token refused for this reason'),
    { level: 40, reason: 'expired' },
    'the first refusal of a kind is a warning'
  )
  lines.length = 0
  await app.inject({ url: '/r', headers: { authorization: `Bearer ${expiring.token}` } })
  t.notOk(
    lines.some((l) => l.msg === 'first access token refused for this reason'),
    'only the first'
  )
  t.notOk(
    lines.some((l) => l.event === 'auth.failed' && 'sub' in l && l.reason === 'signature'),
    'a forgery is never named by the claims it makes up'
  )
  await app.close()
})

t.test('what the guard answers besides 401: 503 with its body and event, 429 for a throttled login, a 403 event, a 500 for a broken scheme', async (t) => {
  const lines: Array<Record<string, unknown>> = []
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
  await app.register(warden, { scopes: { 'invoices:read': 'Read invoices' } })
  const { errors } = plugins
  await app.register(basicAuth, {
    verify: (username) => {
      if (username === 'down') throw new Error('store down')
      if (username === 'locked') throw Object.assign(new errors.WARDEN_ERR_THROTTLED('account'), { retryAfter: 42 })
      return { subject: username, scopes: [] }
    }
  })
  // A scheme of the app's own that breaks the contract (no scope list): a bug, not a credential.
  app.warden.addScheme({
    name: 'broken',
    scopes: new Set(['invoices:read']),
    openapi: { type: 'http', scheme: 'bearer' },
    challenge: () => 'Broken',
    authenticate: () => ({ scheme: 'broken', subject: 'x' }) as never
  })
  app.get('/r', { schema: { security: [{ basic: ['invoices:read'] }] } }, async () => 'ok')
  app.get('/b', { schema: { security: [{ broken: ['invoices:read'] }] } }, async () => 'ok')
  await app.ready()
  const basic = (user: string) => ({ authorization: 'Basic ' + Buffer.from(`${user}:pw`).toString('base64') })

  const down = await app.inject({ url: '/r', headers: basic('down') })
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '5')
  t.equal(down.json().detail, 'The service cannot check credentials right now; try again shortly.')
  t.match(
    lines.find((l) => l.event === 'auth.unavailable'),
    { level: 50, scheme: 'basic', msg: "security scheme 'basic' could not check the credential" }
  )

  const locked = await app.inject({ url: '/r', headers: basic('locked') })
  t.equal(locked.statusCode, 429)
  t.equal(locked.headers['retry-after'], '42')
  t.equal(locked.json().detail, 'Too many failed logins; retry in 42 seconds.')

  lines.length = 0
  t.equal((await app.inject({ url: '/r' })).statusCode, 401)
  t.notOk(
    lines.some((l) => l.event === 'auth.scope.denied'),
    'a 401 is no scope denial'
  )
  const denied = await app.inject({ url: '/r', headers: basic('ada') })
  t.equal(denied.statusCode, 403)
  t.match(
    lines.find((l) => l.event === 'auth.scope.denied'),
    { level: 30, route: '/r', challenge: 'Basic realm="api", charset="UTF-8"' }
  )

  const broken = await app.inject({ url: '/b', headers: { authorization: 'Broken x' } })
  t.equal(broken.statusCode, 500, 'a scheme that breaks its contract is a server error')
  t.equal(broken.json().detail, 'The server could not complete the request.', 'and says nothing of it')
  await app.close()
})
