import t from 'tap'
import type { FastifyRequest } from 'fastify'
import type { UserGrant } from '../../plugins/index.js'
import { ADA, MOBILE, START, claimsOf, digestOf, refreshOf, tokenApp, tokenRequest } from './token-app.js'

// RFC 9470 §4 from the issuing side: every access token of a session says when and how its user
// authenticated (auth_time, acr), and a refresh, which is no new authentication, changes neither.

const MFA = 'urn:example:mfa'
const LOGIN_TIME = START / 1000
const MINUTE = 60_000

/** The verifier reports `acr` once a second factor (the form's `otp`) was checked. */
const secondFactor = (grant: Record<string, unknown>, request: FastifyRequest) =>
  (request.body as Record<string, string>).otp === '123456' ? { ...grant, acr: MFA } : grant

t.test('the password grant: auth_time is when the password was checked, acr what the verifier decided', async (t) => {
  const { app, store, clock } = await tokenApp(t, { answer: secondFactor })
  const res = await app.inject(await tokenRequest({ ...ADA, otp: '123456' }))
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.token_type, 'Bearer')
  t.match(claimsOf(body.access_token), { sub: 'u-ada', auth_time: LOGIN_TIME, acr: MFA, iat: LOGIN_TIME })
  t.match(await store.refreshTokens.find(digestOf(body.refresh_token)), { authTime: LOGIN_TIME, acr: MFA, jkt: null }, 'the family keeps them')

  clock.now += 5 * MINUTE
  const later = (await app.inject(await tokenRequest(ADA))).json()
  t.match(claimsOf(later.access_token), { auth_time: LOGIN_TIME + 300 }, 'a new login is a new authentication')
  t.notOk('acr' in claimsOf(later.access_token), 'no acr when the verifier reports none')
  t.match(await store.refreshTokens.find(digestOf(later.refresh_token)), { authTime: LOGIN_TIME + 300, acr: null })
})

t.test('two refreshes, the clock moved on: the login\'s auth_time and acr, unchanged', async (t) => {
  const { app, store, clock } = await tokenApp(t, { answer: secondFactor })
  let body = (await app.inject(await tokenRequest({ ...ADA, otp: '123456' }))).json()
  const plain = (await app.inject(await tokenRequest(ADA))).json()
  for (const minutes of [10, 20]) {
    clock.now += minutes * MINUTE
    const res = await app.inject(await tokenRequest(refreshOf(body.refresh_token)))
    t.equal(res.statusCode, 200)
    body = res.json()
    const claims = claimsOf(body.access_token)
    t.match(claims, { auth_time: LOGIN_TIME, acr: MFA }, `after ${minutes} more minutes: the login's`)
    t.equal(claims.iat, clock.now / 1000, 'in a token signed now')
    t.match(await store.refreshTokens.find(digestOf(body.refresh_token)), { authTime: LOGIN_TIME, acr: MFA })
  }
  const refreshed = (await app.inject(await tokenRequest(refreshOf(plain.refresh_token)))).json()
  t.match(claimsOf(refreshed.access_token), { auth_time: LOGIN_TIME })
  t.notOk('acr' in claimsOf(refreshed.access_token), 'none reported at login: none after a refresh')
})

t.test('a bad acr from the verifier fails closed: no tokens, no session, the callback named', async (t) => {
  let acr: unknown
  const { app, store, lines } = await tokenApp(t, { answer: (grant) => ({ ...grant, acr }) })
  for (const bad of ['', 'urn:example:mfa level2', 'a'.repeat(256), 'urn:exämple', 'mfa\t', 42, null, ['mfa']]) {
    acr = bad
    lines.length = 0
    const res = await app.inject(await tokenRequest(ADA))
    t.same([res.statusCode, res.json()], [400, { error: 'invalid_grant', error_description: 'Invalid username or password.' }], `acr ${JSON.stringify(bad)}`)
    t.match(lines.find((l) => l.event === 'auth.callback.invalid'), { level: 50, callback: 'verifyUser', field: 'acr' })
    t.match(lines.find((l) => l.event === 'auth.login.failed'), { reason: 'invalid credentials' })
  }
  t.equal(store.refreshTokens.size, 0, 'no session was started')
  for (const good of ['!', 'a'.repeat(255), '0']) {
    acr = good
    t.equal(claimsOf((await app.inject(await tokenRequest(ADA))).json().access_token).acr, good, `acr ${good.length} characters`)
  }
})

t.test('claims of the verifier may not state acr, auth_time or cnf: the library does', async (t) => {
  let claims: Record<string, unknown> = {}
  const { app, store, lines } = await tokenApp(t, { answer: (grant) => ({ ...grant, claims }) })
  for (const name of ['acr', 'auth_time', 'cnf']) {
    claims = { tenant_id: 't1', [name]: name === 'cnf' ? { jkt: 'another key' } : 1 }
    lines.length = 0
    t.equal((await app.inject(await tokenRequest(ADA))).json().error, 'invalid_grant', name)
    t.match(lines.find((l) => l.event === 'auth.callback.invalid'), { callback: 'verifyUser', field: 'claims', expected: /acr, auth_time, cnf/ })
  }
  t.equal(store.refreshTokens.size, 0)
  claims = { tenant_id: 't1' }
  t.match(claimsOf((await app.inject(await tokenRequest(ADA))).json().access_token), { tenant_id: 't1', auth_time: LOGIN_TIME })
})

t.test('findSubject: its acr is checked, not used (the login\'s is kept); a bad one ends the session', async (t) => {
  let today: Record<string, unknown> = { subject: 'u-ada', scopes: ['notes:read'], acr: 'urn:example:password' }
  const { app, store, lines } = await tokenApp(t, { answer: secondFactor, server: { findSubject: async () => today as never } })
  const first = (await app.inject(await tokenRequest({ ...ADA, otp: '123456' }))).json()
  const second = (await app.inject(await tokenRequest(refreshOf(first.refresh_token)))).json()
  t.match(claimsOf(second.access_token), { acr: MFA, auth_time: LOGIN_TIME, scope: 'notes:read' })

  today = { ...today, acr: 'two words' }
  const refused = await app.inject(await tokenRequest(refreshOf(second.refresh_token)))
  t.equal(refused.json().error, 'invalid_grant')
  t.match(lines.find((l) => l.event === 'auth.callback.invalid'), { callback: 'findSubject', field: 'acr' })
  t.equal(await store.refreshTokens.find(digestOf(second.refresh_token)), null, 'the session ended, failing closed')
})

t.test('issueTokens: a grant from login carries the time it was verified; the app may state its own second factor', async (t) => {
  const { app } = await tokenApp(t, {
    routes: (app, clock) => {
      app.post('/login', { schema: { security: [] } }, async (request) => {
        const { otp, built } = request.body as { otp?: string, built?: boolean }
        const grant = built === true ? { subject: 'u-ada', scopes: ['notes:read'] } : await app.oauth2Server.login('ada', 'ada password', request)
        // The second factor is checked half a minute after the password.
        clock.now += 30_000
        const stepUp = otp === '123456' ? { acr: 'urn:example:otp', authTime: clock.now / 1000 } : {}
        return await app.oauth2Server.issueTokens({ ...grant!, ...stepUp }, request)
      })
    }
  })
  const login = async (body: Record<string, unknown>) => claimsOf((await app.inject({ method: 'POST', url: '/login', payload: body })).json().access_token)
  const password = await login({})
  t.equal(password.auth_time, LOGIN_TIME, 'when login() checked the password, not when the tokens were issued')
  t.notOk('acr' in password)
  t.match(await login({ otp: '123456' }), { auth_time: LOGIN_TIME + 60, acr: 'urn:example:otp' }, 'the second factor\'s time and class')
  t.match(await login({ built: true }), { auth_time: LOGIN_TIME + 90 }, 'a grant the app built: verified when issued')

  const request = {} as FastifyRequest
  const grant: UserGrant = { subject: 'u-ada', scopes: ['notes:read'] }
  const cases: Array<[Partial<UserGrant>, RegExp]> = [
    [{ acr: 'two words' }, /^option 'grant.acr' must be 1 to 255 visible ASCII characters, without space$/],
    [{ acr: '' }, /^option 'grant.acr'/],
    [{ authTime: START }, /^option 'grant.authTime' must be whole seconds since the epoch$/],
    [{ authTime: LOGIN_TIME + 0.5 }, /^option 'grant.authTime'/],
    [{ authTime: -1 }, /^option 'grant.authTime'/]
  ]
  for (const [bad, message] of cases) {
    await t.rejects(app.oauth2Server.issueTokens({ ...grant, ...bad }, request), { code: 'WARDEN_ERR_OPTION', message })
  }
})

t.test('client_credentials: no user authenticated, so neither auth_time nor acr', async (t) => {
  const { app } = await tokenApp(t)
  const claims = claimsOf((await app.inject(await tokenRequest({ grant_type: 'client_credentials', ...MOBILE }))).json().access_token)
  t.match(claims, { sub: 'mobile', client_id: 'mobile' })
  t.notOk('auth_time' in claims || 'acr' in claims)
})
