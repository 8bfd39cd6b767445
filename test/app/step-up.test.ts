import t from 'tap'
import { Writable } from 'node:stream'
import { claimsOf, DPOP_ALGS, form, METADATA, referenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'
import { proofKey } from '../helpers/dpop.js'

// Step-up (RFC 9470) in the reference app: creating an API key, which outlives the token by up to
// a year, needs a login of the last 5 minutes. The app has no second factor, so it asks for a
// recent login only (max_age), no acr. Time is moved on with the app's clock, never slept.

t.teardown(closeSharedDatabase)

const STEP_UP = 'error="insufficient_user_authentication", error_description="A more recent login is required.", max_age="300"'

/** The app's clock, moved on by hand. */
function clock (): { now: () => number, later: (seconds: number) => void } {
  let offset = 0
  return { now: () => Date.now() + offset, later: (seconds) => { offset += seconds * 1000 } }
}

t.test('a login older than max_age cannot create an API key: 401 with max_age in the challenge; a refresh does not help, a fresh login does', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    }
  })
  const time = clock()
  const { app, login, bearer } = await referenceApp(t, { now: time.now, logger: { level: 'info', stream } })
  const create = async (token: string) =>
    await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(token), payload: { name: 'ci', scopes: [] } })
  const session = await login()
  const { auth_time: authTime } = claimsOf(session.access_token)
  t.equal(authTime, Math.floor(time.now() / 1000), 'the token says when the user logged in')
  t.equal((await create(session.access_token)).statusCode, 201, 'a fresh login may')

  time.later(301)
  const old = await create(session.access_token)
  t.equal(old.statusCode, 401)
  t.equal(
    old.headers['www-authenticate'],
    `Bearer realm="fastify-warden", ${METADATA}, ${STEP_UP}, DPoP realm="fastify-warden", ${METADATA}, algs="${DPOP_ALGS}", ${STEP_UP}`
  )
  t.match(old.json(), { status: 401, detail: 'A more recent login is required.' })
  t.match(lines.find((l) => l.event === 'auth.step_up.required'), { scheme: 'oauth2', subject: claimsOf(session.access_token).sub, reason: 'max_age' })
  t.equal((await app.inject({ url: '/api-keys', headers: bearer(session.access_token) })).statusCode, 200, 'the other routes take the token as before')

  const refreshed = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: session.refresh_token }) })
  t.equal(refreshed.statusCode, 200)
  const { access_token: next } = refreshed.json()
  t.equal(claimsOf(next).auth_time, authTime, 'a refresh keeps the time of the login')
  t.equal((await create(next)).statusCode, 401, 'so a refreshed token is refused too')

  const fresh = await login()
  t.equal((await create(fresh.access_token)).statusCode, 201, 'a new login: the key is made')
  t.equal((await app.inject({ url: '/api-keys', headers: bearer(fresh.access_token) })).json().items.length, 2)
})

t.test('a DPoP-bound token is held to the same max_age, with the demand on both challenges', async (t) => {
  const time = clock()
  const { app, dpopLogin, dpop } = await referenceApp(t, { now: time.now })
  const key = await proofKey()
  const iat = (): number => Math.floor(time.now() / 1000)
  const create = async (token: string) => {
    const headers = await dpop(token, key, 'POST', '/api-keys', { iat: iat() })
    return await app.inject({ method: 'POST', url: '/api-keys', headers, payload: { name: 'ci', scopes: [] } })
  }
  const session = await dpopLogin(key)
  time.later(301)
  const old = await create(session.access_token)
  t.equal(old.statusCode, 401)
  t.match(old.headers['www-authenticate'], new RegExp(`^Bearer .*${STEP_UP}, DPoP .*${STEP_UP}$`))
  const fresh = await dpopLogin(key, { iat: iat() })
  t.equal((await create(fresh.access_token)).statusCode, 201)
})

t.test('the document shows the demand: x-step-up on the operation', async (t) => {
  const { app } = await referenceApp(t)
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.same(doc.paths['/api-keys'].post['x-step-up'], { max_age: 300 })
  t.notOk('x-step-up' in doc.paths['/api-keys'].get, 'only on the sensitive operation')
})
