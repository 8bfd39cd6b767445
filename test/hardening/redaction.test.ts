import t from 'tap'
import { Writable } from 'node:stream'
import { identityApp, form, ADMIN_PASSWORD } from '../helpers/identity.js'
import { closeSharedDatabase } from '../helpers/services.js'
import { REDACT_PATHS } from '../../plugins/index.js'

t.teardown(closeSharedDatabase)

t.test('secrets planted in every request never reach the log; the security events do', async (t) => {
  let log = ''
  const stream = new Writable({ write (chunk, _encoding, done) { log += String(chunk); done() } })
  const { app, login, bearer } = await identityApp(t, {
    logger: {
      level: 'trace',
      stream,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { req: (req) => ({ method: req.method, url: req.url, headers: req.headers }) }
    }
  })
  const session = await login()
  const refreshed = (await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: session.refresh_token }) })).json()
  const { key } = (await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(refreshed.access_token), payload: { name: 'logged', scopes: [] } })).json()
  const cookie = 'session=planted-cookie-value-123'
  await app.inject({ url: '/users/me', headers: { 'x-api-key': key, cookie } })
  await app.inject({ url: '/users/me', headers: { authorization: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } })
  await app.inject({ method: 'PUT', url: '/users/me/password', headers: bearer(refreshed.access_token), payload: { current_password: ADMIN_PASSWORD, new_password: 'planted new password 42' } })
  await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: 'planted wrong password' }) })
  await app.inject({ method: 'POST', url: '/auth/revoke', ...form({ token: refreshed.refresh_token }) })

  const secrets = [ADMIN_PASSWORD, session.access_token, session.refresh_token, refreshed.access_token, refreshed.refresh_token, key, key.slice(13), 'planted-cookie-value-123', 'planted new password 42', 'planted wrong password', Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')]
  for (const secret of secrets) t.notOk(log.includes(secret), `not in the log: ${secret.slice(0, 12)}…`)
  t.match(log, /"authorization":"\[redacted\]"/, 'the headers were logged, redacted')
  t.match(log, /"x-api-key":"\[redacted\]"/)
  t.match(log, /"cookie":"\[redacted\]"/)
  const events = log.split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((entry) => entry.event !== undefined)
  const names = events.map((e) => e.event)
  for (const name of ['auth.login.succeeded', 'auth.token.refreshed', 'apikey.created', 'auth.password.changed', 'auth.login.failed', 'auth.token.revoked']) {
    t.ok(names.includes(name), `event ${name}`)
  }
  for (const event of events) {
    t.match(event, { request_id: String, ip: '127.0.0.1' }, `${event.event} carries the request id and address`)
  }
})

t.test('regression: a token sent in the query string is refused and never written whole into the request log', async (t) => {
  let log = ''
  const stream = new Writable({ write (chunk, _encoding, done) { log += String(chunk); done() } })
  const { logSerializers, redactUrl } = await import('../../plugins/index.js')
  const { app, login } = await identityApp(t, { logger: { level: 'info', stream, serializers: logSerializers, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } } })
  const { access_token: token, refresh_token: refresh } = await login()
  const planted = { access_token: token, token, api_key: 'wdn_planted_key_value_123', key: 'planted-key-456', password: 'planted-password-789', refresh_token: refresh, client_secret: 'planted-client-secret', code: 'planted-code-0' }
  for (const [name, value] of Object.entries(planted)) {
    const res = await app.inject({ url: `/users/me?page=2&${name}=${encodeURIComponent(value)}` })
    t.equal(res.statusCode, 401, `${name} in the query string is never read`)
  }
  for (const [name, value] of Object.entries(planted)) t.notOk(log.includes(value.slice(-16)), `${name}: not in the log`)
  t.match(log, /"url":"\/users\/me\?page=2&access_token=\[redacted\]"/, 'the URL is logged, its credential redacted')
  t.equal(redactUrl('/x?A%63cess_Token=abc&q=1&key'), '/x?A%63cess_Token=[redacted]&q=1&key=[redacted]', 'names are matched decoded and case-blind')
  t.equal(redactUrl('/plain/path'), '/plain/path')
})

t.test('regression: credentials are redacted by any spelling of their name, and by their shape under any name', async (t) => {
  let log = ''
  const stream = new Writable({ write (chunk, _encoding, done) { log += String(chunk); done() } })
  const { logSerializers, redactUrl } = await import('../../plugins/index.js')
  const { app, login } = await identityApp(t, { logger: { level: 'info', stream, serializers: logSerializers, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } } })
  const { access_token: jwt, refresh_token: refresh } = await login()
  const key = 'wdn_AbCd1234_' + 'k'.repeat(38)
  const planted: Array<[string, string]> = [
    ['X-API-Key', key], ['api-key', key], ['Api_Key', key], ['jwt', jwt], ['accessToken', jwt], ['refreshToken', refresh], ['Authorization', `Bearer ${jwt}`],
    ['id-token', jwt], ['private_key', 'planted-private-key-1'], ['session', 'planted-session-2'],
    // Innocent names, telling values.
    ['q', key], ['next', jwt], ['state', refresh], ['h', `Basic ${Buffer.from('a:planted-basic-3').toString('base64')}`]
  ]
  for (const [name, value] of planted) await app.inject({ url: `/users/me?page=1&${encodeURIComponent(name)}=${encodeURIComponent(value)}` })
  await app.inject({ url: `/files/${jwt}/x` })
  await app.inject({ url: `/files/${key}` })
  for (const [name, value] of planted) t.notOk(log.includes(value.slice(-12)), `${name}: not in the log`)
  t.notOk(log.includes(jwt.slice(-12)), 'a JWT in the path: not in the log')
  t.notOk(log.includes(key.slice(-12)), 'an API key in the path: not in the log')
  t.match(log, /"url":"\/files\/\[redacted\]\/x"/)
  t.equal(redactUrl('/search?q=weather&page=2&sort=name'), '/search?q=weather&page=2&sort=name', 'the rest of a URL stays as it was')
  t.equal(redactUrl('/x?monkey=1'), '/x?monkey=[redacted]', 'names ending in key are taken for keys: a log loses a little, never a secret')
})
