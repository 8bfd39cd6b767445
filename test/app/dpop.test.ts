import t from 'tap'
import { claimsOf, DPOP_ALGS, form, htu, METADATA, referenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'
import { proofKey } from '../helpers/dpop.js'

// DPoP (RFC 9449) in the reference app: allowed on every route. A client that sends a proof with
// its login gets tokens bound to its key and proves the key with every call; a thief with the
// token alone gets nowhere, and bearer clients are unchanged.

t.teardown(closeSharedDatabase)

const errorOf = (res: { headers: Record<string, unknown> }): string | undefined =>
  /error="([a-z_]+)"/.exec(String(res.headers['www-authenticate']))?.[1]

t.test('a DPoP-bound login, then each call with a fresh proof of its key: 200; a thief with the token, a replayed proof: 401', async (t) => {
  const { app, dpopLogin, dpop, bearer } = await referenceApp(t)
  const key = await proofKey()
  const tokens = await dpopLogin(key)
  t.equal(tokens.token_type, 'DPoP')
  t.match(claimsOf(tokens.access_token), { cnf: { jkt: key.jkt } }, 'bound to the key of the login\'s proof')

  const me = await app.inject({ url: '/users/me', headers: await dpop(tokens.access_token, key, 'GET', '/users/me') })
  t.equal(me.statusCode, 200)
  t.equal(me.json().username, 'admin')
  const page = await app.inject({ url: '/users?limit=1', headers: await dpop(tokens.access_token, key, 'GET', '/users') })
  t.equal(page.statusCode, 200, 'the proof names the URI without its query')
  const created = await app.inject({
    method: 'POST',
    url: '/users',
    headers: await dpop(tokens.access_token, key, 'POST', '/users'),
    payload: { username: 'erin', email: 'erin@example.com', password: 'erin password 123', role: 'user' }
  })
  t.equal(created.statusCode, 201, 'a write with a body')

  const used = await dpop(tokens.access_token, key, 'GET', '/users/me')
  t.equal((await app.inject({ url: '/users/me', headers: used })).statusCode, 200)
  const replayed = await app.inject({ url: '/users/me', headers: used })
  t.equal(replayed.statusCode, 401, 'a proof is good for one request')
  t.same(replayed.headers['www-authenticate'], [
    `Bearer realm="fastify-warden", ${METADATA}, error="invalid_dpop_proof", error_description="The DPoP proof is invalid.", ` +
      `DPoP realm="fastify-warden", ${METADATA}, algs="${DPOP_ALGS}", error="invalid_dpop_proof", error_description="The DPoP proof is invalid."`,
    'ApiKey realm="fastify-warden", header="X-API-Key"',
    'Basic realm="fastify-warden", charset="UTF-8"'
  ], 'the error on both token challenges; the route takes API keys and Basic too')
  t.equal(replayed.headers['content-type'], 'application/problem+json; charset=utf-8')

  const thief = await proofKey()
  const stolen: Array<[string, Record<string, string>, string]> = [
    ['as a bearer token', bearer(tokens.access_token), 'invalid_token'],
    ['with no proof', { authorization: `DPoP ${tokens.access_token}` }, 'invalid_dpop_proof'],
    ["with a proof of the thief's key", await dpop(tokens.access_token, thief, 'GET', '/users/me'), 'invalid_dpop_proof'],
    ['with a proof for another route', await dpop(tokens.access_token, key, 'GET', '/api-keys'), 'invalid_dpop_proof'],
    ['with a proof for another method', await dpop(tokens.access_token, key, 'DELETE', '/users/me'), 'invalid_dpop_proof']
  ]
  for (const [how, headers, error] of stolen) {
    const res = await app.inject({ url: '/users/me', headers })
    t.same([res.statusCode, errorOf(res)], [401, error], `the bound token ${how}`)
  }
})

t.test("a public client's bound refresh token refreshes only with a proof of its key; a bad proof at the token endpoint is a 400", async (t) => {
  const { app, dpopLogin, dpop } = await referenceApp(t)
  const key = await proofKey()
  const tokens = await dpopLogin(key)
  const refresh = async (proof?: string) =>
    await app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).payload,
      headers: { ...form({}).headers, ...(proof === undefined ? {} : { dpop: proof }) }
    })
  const refused = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' }
  t.same((await refresh()).json(), refused, 'the refresh token alone is no use')
  t.same((await refresh(await (await proofKey()).proof({ htm: 'POST', htu: htu('/auth/token') }))).json(), refused, 'nor with another key')
  const bad = await refresh(await key.proof({ htm: 'POST', htu: htu('/auth/revoke') }))
  t.same([bad.statusCode, bad.json()], [400, { error: 'invalid_dpop_proof', error_description: 'The DPoP proof is invalid.' }])

  const refreshed = await refresh(await key.proof({ htm: 'POST', htu: htu('/auth/token') }))
  t.equal(refreshed.statusCode, 200, 'with its key, after the refusals')
  const next = refreshed.json()
  t.equal(next.token_type, 'DPoP')
  t.match(claimsOf(next.access_token), { cnf: { jkt: key.jkt } })
  t.equal((await app.inject({ url: '/users/me', headers: await dpop(next.access_token, key, 'GET', '/users/me') })).statusCode, 200)
})

t.test('bearer clients keep working everywhere; an unbound token sent as DPoP is refused', async (t) => {
  const { app, login, bearer, dpop, createUser } = await referenceApp(t)
  const tokens = await login()
  t.equal(tokens.token_type, 'Bearer')
  t.notOk('cnf' in claimsOf(tokens.access_token))
  await createUser('frank', 'user')
  const frank = await app.inject({ url: '/users?limit=1', headers: bearer(tokens.access_token) })
  t.equal(frank.statusCode, 200)
  const key = await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(tokens.access_token), payload: { name: 'ci', scopes: ['users:read'] } })
  t.equal(key.statusCode, 201)
  t.equal((await app.inject({ url: '/users', headers: { 'x-api-key': key.json().key } })).statusCode, 200, 'an API key')
  const basic = 'Basic ' + Buffer.from('frank:frank password 123').toString('base64')
  t.equal((await app.inject({ url: '/users/me', headers: { authorization: basic } })).statusCode, 200, 'Basic')

  const unbound = await app.inject({ url: '/users/me', headers: await dpop(tokens.access_token, await proofKey(), 'GET', '/users/me') })
  t.same([unbound.statusCode, errorOf(unbound)], [401, 'invalid_token'], 'DPoP with a bearer token: a key it was never bound to')

  const anonymous = await app.inject({ url: '/api-keys' })
  t.equal(
    anonymous.headers['www-authenticate'],
    `Bearer realm="fastify-warden", ${METADATA}, DPoP realm="fastify-warden", ${METADATA}, algs="${DPOP_ALGS}"`,
    'a client without a token is told both ways'
  )
})

t.test('the document says DPoP is allowed: the scheme has x-dpop; the metadata lists the proof algorithms', async (t) => {
  const { app } = await referenceApp(t)
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.same(doc.components.securitySchemes.oauth2['x-dpop'], { mode: 'allowed', algs: DPOP_ALGS.split(' ') })
  t.match(doc.components.securitySchemes.oauth2.description, /DPoP-bound tokens \(RFC 9449\) are accepted/)
  t.same((await app.inject({ url: '/.well-known/oauth-authorization-server' })).json().dpop_signing_alg_values_supported, DPOP_ALGS.split(' '))
})
