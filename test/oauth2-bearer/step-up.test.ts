import t from 'tap'
import { schemesApp, NOW } from '../helpers/schemes.js'
import { openapi } from '../../plugins/index.js'

// RFC 9470: a route asks for an authentication context class and/or a recent login, beside its
// security; a token that lacks them gets 401 insufficient_user_authentication saying what would do.

const AUTH_TIME = NOW / 1000 - 600

async function stepUpApp (clock = (): number => NOW) {
  const fixture = await schemesApp({ clock })
  const { app } = fixture
  const mfa = { acr_values: ['urn:example:mfa', 'urn:example:hwk'] }
  app.get('/mfa', { schema: { security: [{ oauth2: [] }], 'x-step-up': mfa } }, async (req) => req.auth?.subject)
  app.get('/recent', { schema: { security: [{ oauth2: ['users:write'] }], 'x-step-up': { max_age: 300 } } }, async (req) => req.auth?.subject)
  app.get('/both', { schema: { security: [{ oauth2: [] }], 'x-step-up': { acr_values: ['urn:example:mfa'], max_age: 60 } } }, async () => 'ok')
  app.get('/plain', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  await app.ready()
  return fixture
}

t.test('a token of the class asked for passes; another class, or none, gets the step-up challenge', async (t) => {
  const { app, token } = await stepUpApp()
  const call = async (extra: Record<string, unknown>) => await app.inject({ url: '/mfa', headers: { authorization: `Bearer ${token([], extra)}` } })
  t.equal((await call({ acr: 'urn:example:hwk', auth_time: AUTH_TIME })).statusCode, 200)
  for (const extra of [{}, { acr: 'urn:example:pwd' }, { acr: ['urn:example:mfa'] }, { acr: 'URN:EXAMPLE:MFA' }]) {
    const res = await call(extra)
    t.equal(res.statusCode, 401, JSON.stringify(extra))
    t.equal(
      res.headers['www-authenticate'],
      'Bearer realm="api", error="insufficient_user_authentication", error_description="A login with a stronger authentication method is required.", ' +
        'acr_values="urn:example:mfa urn:example:hwk"'
    )
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.equal(res.json().detail, 'A login with a stronger authentication method is required.')
  }
  t.equal((await app.inject({ url: '/mfa' })).headers['www-authenticate'], 'Bearer realm="api"', 'no token: the usual challenge')
  t.equal((await app.inject({ url: '/plain', headers: { authorization: `Bearer ${token()}` } })).statusCode, 200, 'other routes ask nothing')
})

t.test('max_age counts from auth_time on the clock; a token without auth_time is not recent', async (t) => {
  let now = NOW
  const { app, token } = await stepUpApp(() => now)
  const recent = token(['users:write'], { auth_time: NOW / 1000 - 100 })
  const call = async (tok: string) => await app.inject({ url: '/recent', headers: { authorization: `Bearer ${tok}` } })
  t.equal((await call(recent)).statusCode, 200)
  now = NOW + 200_000
  t.equal((await call(recent)).statusCode, 200, '300 s after the login: still recent')
  now = NOW + 201_000
  const old = await call(recent)
  t.equal(old.statusCode, 401, '301 s after it: too old')
  t.equal(
    old.headers['www-authenticate'],
    'Bearer realm="api", error="insufficient_user_authentication", error_description="A more recent login is required.", max_age="300", scope="users:write"'
  )
  now = NOW
  t.equal((await call(token(['users:write']))).statusCode, 401, 'no auth_time')
  t.equal((await call(token(['users:write'], { auth_time: 'yesterday' }))).statusCode, 401, 'auth_time not a number')
  t.equal((await call(token([], { auth_time: NOW / 1000 }))).statusCode, 403, 'a recent login without the scope: still 403')
})

t.test('both demands: the class is checked first, then the age; an invalid token is invalid_token, not step-up', async (t) => {
  const { app, token } = await stepUpApp()
  const call = async (authorization: string) => await app.inject({ url: '/both', headers: { authorization } })
  t.equal((await call(`Bearer ${token([], { acr: 'urn:example:mfa', auth_time: NOW / 1000 - 10 })}`)).statusCode, 200)
  const old = await call(`Bearer ${token([], { acr: 'urn:example:mfa', auth_time: AUTH_TIME })}`)
  t.match(old.headers['www-authenticate'], /error_description="A more recent login is required\.", acr_values="urn:example:mfa", max_age="60"$/)
  const weak = await call(`Bearer ${token([], { auth_time: NOW / 1000 })}`)
  t.match(weak.headers['www-authenticate'], /stronger authentication method/)
  const invalid = await call('Bearer not.a.token')
  t.equal(invalid.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"')
})

t.test('declaring step-up: malformed demands, public routes and schemes without logins fail at start-up, naming the route', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ security: [{ oauth2: [] }], 'x-step-up': {} }, /route 'GET \/r': 'x-step-up' must name acr_values, max_age or both/],
    [{ security: [{ oauth2: [] }], 'x-step-up': { acr_values: [] } }, /acr_values must be a non-empty array/],
    [{ security: [{ oauth2: [] }], 'x-step-up': { acr_values: ['has space'] } }, /acr_values must be/],
    [{ security: [{ oauth2: [] }], 'x-step-up': { acr_values: ['a"b'] } }, /acr_values must be/],
    [{ security: [{ oauth2: [] }], 'x-step-up': { max_age: -1 } }, /max_age must be a whole number/],
    [{ security: [{ oauth2: [] }], 'x-step-up': { max_age: 1.5 } }, /max_age must be a whole number/],
    [{ security: [{ oauth2: [] }], 'x-step-up': { maxAge: 5 } }, /unknown member 'maxAge'/],
    [{ security: [{ oauth2: [] }], 'x-step-up': 'mfa' }, /must be an object/],
    [{ security: [{ oauth2: [] }], 'x-dpop': 'sometimes' }, /'x-dpop' must be 'required', 'allowed' or 'off'/],
    [{ security: [{ oauth2: [] }, { apiKey: [] }], 'x-step-up': { max_age: 60 } }, /scheme 'apiKey' has no login time/],
    [{ security: [{ basic: [] }], 'x-dpop': 'required' }, /none of its schemes takes tokens/]
  ]
  for (const [schema, message] of cases) {
    const { app } = await schemesApp()
    app.get('/r', { schema }, async () => 'ok')
    await t.rejects(async () => { await app.ready() }, { code: 'WARDEN_ERR_REQUIREMENT', message }, JSON.stringify(schema))
  }
  const { app } = await schemesApp()
  t.throws(() => app.get('/r', { schema: { security: [], 'x-step-up': { max_age: 60 } } }, async () => 'ok'), {
    code: 'WARDEN_ERR_REQUIREMENT',
    message: /route 'GET \/r': is public/
  })
})

t.test('with alternatives, the token scheme\'s step-up refusal is the answer; another scheme\'s valid credential still passes', async (t) => {
  const { app, token } = await schemesApp()
  app.get('/either', { schema: { security: [{ oauth2: [] }, { oauth2: ['admin'] }], 'x-step-up': { max_age: 60 } } }, async (req) => req.auth?.subject)
  await app.ready()
  const res = await app.inject({ url: '/either', headers: { authorization: `Bearer ${token()}` } })
  t.equal(res.statusCode, 401)
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="insufficient_user_authentication"/)
  t.equal((await app.inject({ url: '/either', headers: { authorization: `Bearer ${token([], { auth_time: NOW / 1000 })}` } })).statusCode, 200)
})

t.test('the document shows the demand on the operation', async (t) => {
  const { app } = await schemesApp()
  await app.register(openapi, { info: { title: 't', version: '1' } })
  app.get('/recent', { schema: { security: [{ oauth2: [] }], 'x-step-up': { acr_values: ['urn:example:mfa'], max_age: 300 } } }, async () => 'ok')
  await app.ready()
  const operation = (app.swagger() as unknown as { paths: Record<string, Record<string, Record<string, unknown>>> }).paths['/recent'].get
  t.same(operation['x-step-up'], { acr_values: ['urn:example:mfa'], max_age: 300 })
  t.ok((operation.responses as Record<string, unknown>)['401'], 'and its 401')
})

t.test('the scheme\'s own 401s (a login too old, a DPoP proof at fault) name the route\'s scopes, so a client logging in again asks for those', async (t) => {
  const { app, token } = await schemesApp({ clock: Date.now, bearer: { dpop: true } })
  app.get('/fresh', { schema: { security: [{ oauth2: ['users:read'] }], 'x-step-up': { max_age: 60 } } }, async () => 'ok')
  app.get('/bound', { schema: { security: [{ oauth2: ['users:read'] }], 'x-dpop': 'required' } }, async () => 'ok')
  app.get('/plain', { schema: { security: [{ oauth2: ['users:read'] }] } }, async () => 'ok')
  await app.ready()
  const stale = await app.inject({ url: '/fresh', headers: { authorization: `Bearer ${token(['users:read'])}` } })
  t.equal(stale.statusCode, 401)
  t.match(stale.headers['www-authenticate'], /^Bearer realm="api", error="insufficient_user_authentication", error_description="[^"]+", max_age="60", scope="users:read", DPoP /)
  for (const url of ['/bound', '/plain']) {
    const badProof = await app.inject({ url, headers: { authorization: `DPoP ${token(['users:read'])}`, dpop: 'not.a.proof' } })
    t.equal(badProof.statusCode, 401, url)
    t.match(badProof.headers['www-authenticate'], /error="invalid_token", scope="users:read"/, `${url}: on a route with demands or without`)
  }
})

t.test('alternatives asking the scheme for different scopes: its own 401 names none rather than a way in the token may not take', async (t) => {
  const { app, token } = await schemesApp({ clock: Date.now })
  app.get('/either', { schema: { security: [{ oauth2: ['admin'] }, { oauth2: ['users:read'] }], 'x-step-up': { max_age: 60 } } }, async () => 'ok')
  await app.ready()
  const stale = await app.inject({ url: '/either', headers: { authorization: `Bearer ${token(['users:read'])}` } })
  t.equal(stale.statusCode, 401)
  t.equal(
    stale.headers['www-authenticate'],
    'Bearer realm="api", error="insufficient_user_authentication", error_description="A more recent login is required.", max_age="60"'
  )
  t.equal((await app.inject({ url: '/either' })).headers['www-authenticate'], 'Bearer realm="api", scope="admin"', 'no token: the first way in')
})
