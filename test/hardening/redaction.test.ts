import t from 'tap'
import { Writable } from 'node:stream'
import { referenceApp, form, ADMIN_PASSWORD } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'
import { REDACT_PATHS, logSerializers, redactHeaders } from '../../plugins/index.js'

t.teardown(closeSharedDatabase)

t.test('secrets planted in every request never reach the log; the security events do', async (t) => {
  let log = ''
  const stream = new Writable({
    write (chunk, _encoding, done) {
      log += String(chunk)
      done()
    }
  })
  const { app, login, bearer } = await referenceApp(t, {
    logger: {
      level: 'trace',
      stream,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      // As app.ts logs requests: the URL and every header, redacted.
      serializers: { req: (req) => ({ ...logSerializers.req(req), headers: redactHeaders(req.headers) }) }
    }
  })
  const session = await login()
  const refreshed = (
    await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: session.refresh_token }) })
  ).json()
  const { key } = (
    await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(refreshed.access_token), payload: { name: 'logged', scopes: [] } })
  ).json()
  const cookie = 'session=planted-cookie-value-123'
  await app.inject({ url: '/users/me', headers: { 'x-api-key': key, cookie } })
  await app.inject({ url: '/users/me', headers: { authorization: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } })
  await app.inject({
    method: 'PUT',
    url: '/users/me/password',
    headers: bearer(refreshed.access_token),
    payload: { current_password: ADMIN_PASSWORD, new_password: 'planted new password 42' }
  })
  await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: 'planted wrong password' }) })
  await app.inject({
    url: '/users/me',
    headers: { referer: `https://app.example/cb?access_token=${session.access_token}`, 'x-auth-token': refreshed.refresh_token }
  })
  // A live session's: the password change ended the others, and an ended session's token is one RFC 7009 has nothing to revoke for.
  const again = await login('admin', 'planted new password 42')
  await app.inject({ method: 'POST', url: '/auth/revoke', ...form({ token: again.refresh_token }) })

  const secrets = [
    ADMIN_PASSWORD,
    session.access_token,
    session.refresh_token,
    refreshed.access_token,
    refreshed.refresh_token,
    again.refresh_token,
    key,
    key.slice(13),
    'planted-cookie-value-123',
    'planted new password 42',
    'planted wrong password',
    Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')
  ]
  for (const secret of secrets) t.notOk(log.includes(secret), `not in the log: ${secret.slice(0, 12)}…`)
  t.match(log, /"authorization":"\[redacted\]"/, 'the headers were logged, redacted')
  t.match(log, /"x-api-key":"\[redacted\]"/)
  t.match(log, /"cookie":"\[redacted\]"/)
  const events = log
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.event !== undefined)
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
  const stream = new Writable({
    write (chunk, _encoding, done) {
      log += String(chunk)
      done()
    }
  })
  const { logSerializers } = await import('../../plugins/index.js')
  const { redactUrl } = await import('../../plugins/core/redaction.js')
  const { app, login } = await referenceApp(t, {
    logger: { level: 'info', stream, serializers: logSerializers, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } }
  })
  const { access_token: token, refresh_token: refresh } = await login()
  const planted = {
    access_token: token,
    token,
    api_key: 'wdn_planted_key_value_123',
    key: 'planted-key-456',
    password: 'planted-password-789',
    refresh_token: refresh,
    client_secret: 'planted-client-secret',
    code: 'planted-code-0'
  }
  for (const [name, value] of Object.entries(planted)) {
    const res = await app.inject({ url: `/users/me?page=2&${name}=${encodeURIComponent(value)}` })
    t.equal(res.statusCode, 401, `${name} in the query string is never read`)
  }
  for (const [name, value] of Object.entries(planted)) t.notOk(log.includes(value.slice(-16)), `${name}: not in the log`)
  t.match(log, /"url":"\/users\/me\?page=2&access_token=\[redacted\]"/, 'the URL is logged, its credential redacted')
  t.equal(
    redactUrl('/x?A%63cess_Token=abc&q=1&key'),
    '/x?A%63cess_Token=[redacted]&q=1&key',
    'names are matched decoded and case-blind (a bare name carries nothing)'
  )
  t.equal(redactUrl('/plain/path'), '/plain/path')
})

t.test('regression: credentials are redacted by any spelling of their name, and by their shape under any name', async (t) => {
  let log = ''
  const stream = new Writable({
    write (chunk, _encoding, done) {
      log += String(chunk)
      done()
    }
  })
  const { logSerializers } = await import('../../plugins/index.js')
  const { redactUrl } = await import('../../plugins/core/redaction.js')
  const { app, login } = await referenceApp(t, {
    logger: { level: 'info', stream, serializers: logSerializers, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } }
  })
  const { access_token: jwt, refresh_token: refresh } = await login()
  const key = 'wdn_AbCd1234_' + 'k'.repeat(38)
  const planted: Array<[string, string]> = [
    ['X-API-Key', key],
    ['api-key', key],
    ['Api_Key', key],
    ['jwt', jwt],
    ['accessToken', jwt],
    ['refreshToken', refresh],
    ['Authorization', `Bearer ${jwt}`],
    ['id-token', jwt],
    ['private_key', 'planted-private-key-1'],
    ['session', 'planted-session-2'],
    // Innocent names, telling values.
    ['q', key],
    ['next', jwt],
    ['state', refresh],
    ['h', `Basic ${Buffer.from('a:planted-basic-3').toString('base64')}`]
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

t.test('regression: the spellings an attacker tried next are redacted too (URLs and headers)', async (t) => {
  const { redactUrl, redactHeaders } = await import('../../plugins/core/redaction.js')
  const key = 'wdn_AbCd1234_' + 'k'.repeat(38)
  const refresh = 'wdr_' + 'r'.repeat(43)
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
  const cases: Array<[string, string]> = [
    [`/users/me?${key}`, '/users/me?[redacted]'],
    [`/users/me?x=1;api_key=${key}`, '/users/me?x=1;api_key=[redacted]'],
    [`/users/me?q=%22${key}%22`, '/users/me?q=[redacted]'],
    [`/users/me?filter=key:${key}`, '/users/me?filter=[redacted]'],
    [`/users/me/token=${refresh}`, '/users/me/[redacted]'],
    [`/users/me;jsessionid=${jwt}`, '/users/[redacted]'],
    [`/users/me?t=x,${jwt}`, '/users/me?t=[redacted]'],
    [`/users/me#access_token=${jwt}&state=1`, '/users/me#access_token=[redacted]&state=1'],
    ['/users/me?pw=hunter2&passphrase=a%20b&page=2', '/users/me?pw=[redacted]&passphrase=[redacted]&page=2'],
    ['http://admin:hunter2SECRET@localhost/users/me', 'http://[redacted]@localhost/users/me'],
    [`/cb?next=${encodeURIComponent('Bearer ' + jwt)}`, '/cb?next=[redacted]']
  ]
  for (const [url, logged] of cases) t.equal(redactUrl(url), logged, url.slice(0, 40))
  t.same(
    redactHeaders({
      referer: `https://app.example/cb?access_token=${jwt}&tab=2`,
      'x-auth-token': jwt,
      'x-refresh-token': refresh,
      'x-custom': `Bearer ${jwt}`,
      'user-agent': 'curl/8.5.0',
      accept: ['application/json']
    }),
    {
      referer: 'https://app.example/cb?access_token=[redacted]&tab=2',
      'x-auth-token': '[redacted]',
      'x-refresh-token': '[redacted]',
      'x-custom': '[redacted]',
      'user-agent': 'curl/8.5.0',
      accept: ['application/json']
    }
  )
})

t.test('each rule of the redaction, at its edge: the exact line logged', async (t) => {
  const { redactUrl, redactHeaders, REDACT_PATHS } = await import('../../plugins/core/redaction.js')
  const jwtHeader = 'eyJhbGciOiJIUzI1NiJ9.'
  const cases: Array<[string, string]> = [
    ...['code', 'pw', 'pwd', 'sig', 'otp', 'pin', 'auth', 'jwt', 'key', 'P_W', 'O-T-P'].map((name): [string, string] => [
      `/x?${name}=v1&q=1`,
      `/x?${name}=[redacted]&q=1`
    ]),
    ['/x?X-Api-Key-V2=v1', '/x?X-Api-Key-V2=[redacted]'],
    ['/x?access_token=v1=v2', '/x?access_token=[redacted]'],
    [`/x?q=${jwtHeader}`, '/x?q=[redacted]'],
    ['/x?q=Bearer%20abc', '/x?q=[redacted]'],
    ['/x?q=Bearer+abc', '/x?q=[redacted]'],
    ['/x?q=Bearer%20%20abc', '/x?q=[redacted]'],
    ['/x?q=dpopular&r=bearers&s=basically', '/x?q=dpopular&r=bearers&s=basically'],
    ['/x?q=caf%C3%A9&r=100%25', '/x?q=caf%C3%A9&r=100%25'],
    ['/x?q=%E0%A4%A', '/x?q=%E0%A4%A'],
    ['/go/https://u:hunter2@evil.test/x?a=1', '/go/https://[redacted]@evil.test/x?a=1'],
    ['/x?a=1#b=2&token=v1', '/x?a=1#b=2&token=[redacted]'],
    ['/x??&;token=v1', '/x??&;token=[redacted]'],
    [`/x?${jwtHeader}c2ln=1&q=2`, '/x?[redacted]&q=2'],
    ['/x?wdr_abc=1', '/x?[redacted]']
  ]
  for (const [url, logged] of cases) t.equal(redactUrl(url), logged, url)
  t.same(
    redactHeaders({ 'x-note': 'Bearer abc/def', 'x-other': 'Bearer abc http://h/', 'x-path': '/a/Bearer%20abc/b', 'content-type': 'text/html' }),
    { 'x-note': '[redacted]', 'x-other': '[redacted]', 'x-path': '/a/[redacted]/b', 'content-type': 'text/html' },
    'a value is read as a URL only when it starts as one'
  )
  t.match(REDACT_PATHS, ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'], 'the header paths pino censors')
})
