import t from 'tap'
import { randomBytes } from 'node:crypto'
import { ADMIN_PASSWORD, form, htu, referenceApp, testConfig } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'
import { proofKey } from '../helpers/dpop.js'

// DPOP_NONCE_SECRET turns on server nonces (RFC 9449 §8): a proof must carry a recent DPoP-Nonce
// of this API, so a proof made in advance is no use. The nonces are made from the secret alone,
// so every instance that shares it accepts the others'.

t.teardown(closeSharedDatabase)

t.test('with DPOP_NONCE_SECRET, a proof without the nonce is answered use_dpop_nonce with one, at the token endpoint and the API', async (t) => {
  const config = testConfig({ DPOP_NONCE_SECRET: randomBytes(32).toString('base64url') })
  const { app, dpop } = await referenceApp(t, { config })
  const key = await proofKey()
  const token = async (nonce?: string) => {
    const request = form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD })
    const proof = await key.proof({ htm: 'POST', htu: htu('/auth/token'), ...(nonce === undefined ? {} : { nonce }) })
    return await app.inject({ method: 'POST', url: '/auth/token', payload: request.payload, headers: { ...request.headers, dpop: proof } })
  }
  const first = await token()
  t.equal(first.statusCode, 400)
  t.same(first.json(), { error: 'use_dpop_nonce', error_description: 'Sign the DPoP proof with the nonce given.' })
  const nonce = first.headers['dpop-nonce']
  t.match(nonce, /^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a nonce to sign')
  const second = await token(String(nonce))
  t.equal(second.statusCode, 200, 'signed with it, the login goes through')
  const { access_token: bound, token_type: type } = second.json()
  t.equal(type, 'DPoP')

  const without = await app.inject({ url: '/api-keys', headers: await dpop(bound, key, 'GET', '/api-keys') })
  t.equal(without.statusCode, 401)
  t.match(without.headers['www-authenticate'], /DPoP realm="fastify-warden", .*error="use_dpop_nonce", error_description="Sign the DPoP proof with the nonce given."/)
  t.equal(without.headers['dpop-nonce'], nonce, 'the nonce comes with the challenge')
  const withNonce = await app.inject({ url: '/api-keys', headers: await dpop(bound, key, 'GET', '/api-keys', { nonce: String(nonce) }) })
  t.equal(withNonce.statusCode, 200)

  // Another instance with the same secret (/api-keys lists by subject: it needs none of the first one's rows).
  const other = await referenceApp(t, { config })
  const there = await other.app.inject({ url: '/api-keys', headers: await dpop(bound, key, 'GET', '/api-keys', { nonce: String(nonce) }) })
  t.equal(there.statusCode, 200, "one instance's nonce is good on another")
  t.equal((await other.app.inject({ url: '/api-keys', headers: other.bearer(bound) })).statusCode, 401, 'and the token stays bound there')
})

t.test('without DPOP_NONCE_SECRET, no nonces are asked for', async (t) => {
  const { app, dpopLogin, dpop } = await referenceApp(t)
  const key = await proofKey()
  const { access_token: bound } = await dpopLogin(key)
  const res = await app.inject({ url: '/api-keys', headers: await dpop(bound, key, 'GET', '/api-keys') })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['dpop-nonce'], undefined)
})
