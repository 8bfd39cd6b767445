import t from 'tap'
import Fastify from 'fastify'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import * as oauth from 'oauth4webapi'
import { SignJWT } from 'jose'
import { plugins, stores } from '../helpers/subject.js'
import { freePort } from '../helpers/services.js'
import { challengeOf, claimsOf, insecure, recording, rejection, remapEd25519, sendingProof, tokenErrorOf } from './oauth4webapi-client.js'

// RFC 9449 with a strict third-party client (panva's oauth4webapi) over real HTTP: a user's own
// app with the token endpoint (password grant, a public client) and protected routes. The client
// library makes every proof and reads every refusal; each attack is refused with the error it names.
const { warden, oauth2Bearer, oauth2Server } = plugins
const client: oauth.Client = { client_id: 'notes-spa' }
const USER = { username: 'ada', password: 'correct horse battery staple' }

/** The user's app on 127.0.0.1: `/token` (password, refresh), `GET` and `POST /notes`; DPoP server nonces when `nonce`. */
async function notesApp (nonce: boolean) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const app = Fastify()
  const sessions = stores.memorySessionStore()
  await app.register(warden, { scopes: { 'notes:read': 'Read notes', 'notes:write': 'Write notes' } })
  await app.register(oauth2Bearer, {
    issuer: base,
    audience: base,
    signingKey: { kid: 'k1', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
    algorithm: 'ES256',
    tokenUrl: '/token',
    isRevoked: (claims) => sessions.isRevoked(claims),
    dpop: nonce ? { nonce: true } : true
  })
  await app.register(oauth2Server, {
    verifyUser: async (username, password) =>
      username === USER.username && password === USER.password ? { subject: 'u-ada', scopes: ['notes:read', 'notes:write'] } : null,
    sessions,
    tokenPath: '/token',
    lockout: false,
    rateLimit: false
  })
  app.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }] } }, async (request) => ({ subject: request.auth.subject }))
  app.post('/notes', { schema: { security: [{ oauth2: ['notes:write'] }] } }, async () => ({ saved: true }))
  app.get('/vault', { schema: { security: [{ oauth2: ['notes:read'] }], 'x-dpop': 'required' } }, async () => ({ opened: true }))
  await app.listen({ port, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const as = await oauth.processDiscoveryResponse(new URL(base), await oauth.discoveryRequest(new URL(base), { algorithm: 'oauth2', ...insecure }))
  return { as, notes: new URL(`${base}/notes`) }
}

const plain = await notesApp(false)
const { as } = plain

/** A password login through oauth4webapi, with its DPoP handle. */
async function login (DPoP: oauth.DPoPHandle, scope = 'notes:read notes:write') {
  const response = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), 'password', { ...USER, scope }, { DPoP, ...insecure })
  const raw = (await response.clone().json()) as Record<string, unknown>
  return { raw, tokens: await oauth.processGenericTokenEndpointResponse(as, client, response) }
}
const refresh = async (refreshToken: string, DPoP?: oauth.DPoPHandle) => {
  const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { ...insecure, ...(DPoP === undefined ? {} : { DPoP }) })
  return await oauth.processRefreshTokenResponse(as, client, response)
}
const call = async (token: string, options: oauth.ProtectedResourceRequestOptions = {}, method = 'GET', url = plain.notes) =>
  await oauth.protectedResourceRequest(token, method, url, undefined, undefined, { ...insecure, ...options })

t.test('a DPoP-bound token through oauth4webapi: cnf.jkt of its key, fresh proofs on each call, a bound refresh', async (t) => {
  const keyPair = await oauth.generateKeyPair('ES256')
  const DPoP = oauth.DPoP(client, keyPair)
  const jkt = await DPoP.calculateThumbprint()
  t.same(as.dpop_signing_alg_values_supported?.[0], 'ES256', 'RFC 8414 metadata lists the proof algorithms')

  const { raw, tokens } = await login(DPoP)
  t.equal(raw.token_type, 'DPoP', 'RFC 9449 §5: token_type DPoP')
  t.equal(tokens.token_type, 'dpop', 'and oauth4webapi takes it')
  t.match(claimsOf(tokens.access_token), { sub: 'u-ada', client_id: 'notes-spa', cnf: { jkt } }, 'cnf.jkt: the thumbprint oauth4webapi computes')

  const sent: Array<Record<string, string>> = []
  for (let i = 0; i < 3; i++) {
    const res = await call(tokens.access_token, recording(DPoP, sent))
    t.same([res.status, await res.json()], [200, { subject: 'u-ada' }], `call ${i + 1} with a fresh proof`)
  }
  t.equal(new Set(sent.map((h) => h.dpop)).size, 3, 'three distinct proofs')
  const query = await call(tokens.access_token, { DPoP }, 'GET', new URL(`${plain.notes.href}?page=2#top`))
  t.equal(query.status, 200, 'a URL with a query: htu is compared without it (RFC 9449 §4.3)')

  // oauth4webapi as a resource server would check it (RFC 9449 §4.3, §7; keys from our JWKS): the request as sent.
  const asSent = new Request(plain.notes, { headers: sent[0] })
  const checked = await oauth.validateJwtAccessToken(as, asSent, as.issuer, { requireDPoP: true, ...insecure })
  t.match(checked, { sub: 'u-ada', cnf: { jkt } }, "our token and the client's proof pass oauth4webapi's own resource-server checks")
  t.equal((await call(tokens.access_token, { DPoP }, 'POST')).status, 200, 'POST too (htm)')
  t.equal((await call(tokens.access_token, { DPoP }, 'HEAD')).status, 200, "HEAD, on the GET route's twin")

  const refreshed = await refresh(tokens.refresh_token!, DPoP)
  t.equal(refreshed.token_type, 'dpop')
  t.match(claimsOf(refreshed.access_token), { cnf: { jkt }, sid: claimsOf(tokens.access_token).sid }, 'the same key, the same session')
  t.equal((await call(refreshed.access_token, { DPoP })).status, 200, 'the refreshed token works with the same key')
  t.equal((await refresh(refreshed.refresh_token!, DPoP)).token_type, 'dpop', 'and so does its successor refresh token')
})

t.test('server nonces (RFC 9449 §8, §9): oauth4webapi recognises use_dpop_nonce at the token endpoint and the resource, and its retry passes', async (t) => {
  const { as, notes } = await notesApp(true)
  const keyPair = await oauth.generateKeyPair('ES256')
  let DPoP = oauth.DPoP(client, keyPair)
  const request = async () =>
    await oauth.processGenericTokenEndpointResponse(
      as,
      client,
      await oauth.genericTokenEndpointRequest(as, client, oauth.None(), 'password', { ...USER, scope: 'notes:read' }, { DPoP, ...insecure })
    )
  const first = await rejection(request())
  t.ok(oauth.isDPoPNonceError(first), 'the first token request: a nonce error oauth4webapi recognises')
  t.match(first, { status: 400, error: 'use_dpop_nonce' })
  const tokens = await request()
  t.equal(tokens.token_type, 'dpop', 'the retry, with the nonce the client cached for the origin, is served')

  // A fresh handle of the same key has no nonce cached: the resource asks for one.
  DPoP = oauth.DPoP(client, keyPair)
  const get = async () => await oauth.protectedResourceRequest(tokens.access_token, 'GET', notes, undefined, undefined, { DPoP, ...insecure })
  const refused = await rejection(get())
  t.ok(oauth.isDPoPNonceError(refused), 'the first call: a nonce challenge oauth4webapi recognises')
  const challenge = await challengeOf(Promise.reject(refused))
  t.equal(challenge.status, 401)
  t.match(challenge.schemes.dpop, { error: 'use_dpop_nonce', algs: /^ES256 / })
  t.ok(challenge.err.response.headers.get('dpop-nonce'), 'with a DPoP-Nonce header')
  t.equal((await get()).status, 200, 'the retry passes')
  t.equal((await get()).status, 200, 'and the nonce keeps serving')
})

t.test('a stolen token, a replayed proof, a proof for another request: refused with the error each names', async (t) => {
  const keyPair = await oauth.generateKeyPair('ES256', { extractable: true })
  const DPoP = oauth.DPoP(client, keyPair)
  const { tokens } = await login(DPoP)
  const token = tokens.access_token
  const dpopError = async (options: oauth.ProtectedResourceRequestOptions, method = 'GET') => {
    const { status, schemes } = await challengeOf(call(token, options, method))
    return [status, schemes.dpop?.error]
  }

  const asBearer = await challengeOf(call(token))
  t.same([asBearer.status, asBearer.schemes.bearer?.error], [401, 'invalid_token'], 'the bound token sent as Bearer (no key): invalid_token')
  const vault = new URL(`${as.issuer}/vault`)
  const strict = await challengeOf(call(token, {}, 'GET', vault))
  t.same([strict.status, Object.keys(strict.schemes), strict.schemes.dpop?.error], [401, ['dpop'], 'invalid_token'], 'where DPoP is required: DPoP only')
  t.equal((await call(token, { DPoP }, 'GET', vault)).status, 200, 'and the owner is served there')
  const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  t.same(await dpopError({ DPoP: thief }), [401, 'invalid_dpop_proof'], "a proof of the thief's own key: invalid_dpop_proof")

  // The replay: one request's proof, captured on the way, sent again with the token.
  const sent: Array<Record<string, string>> = []
  t.equal((await call(token, recording(DPoP, sent))).status, 200)
  t.same(await dpopError(sendingProof(DPoP, sent[0].dpop)), [401, 'invalid_dpop_proof'], 'a captured proof sent again: a replay')

  const tampered = (change: (payload: Record<string, unknown>) => void) =>
    oauth.DPoP(client, keyPair, { [oauth.modifyAssertion]: (_header, payload) => change(payload) })
  t.same(await dpopError({ DPoP: tampered((p) => { p.htu = `${as.issuer}/admin` }) }), [401, 'invalid_dpop_proof'], 'a proof for another URL')
  t.same(await dpopError({ DPoP: tampered((p) => { p.htm = 'POST' }) }), [401, 'invalid_dpop_proof'], 'a proof for another method')
  t.same(await dpopError({ DPoP: oauth.DPoP({ ...client, [oauth.clockSkew]: -600 }, keyPair) }), [401, 'invalid_dpop_proof'], 'a proof of 10 minutes ago')

  // Hand-made with jose, with the owner's key and claims: accepted with the public JWK in its
  // header, refused with the private one (the thumbprint, of the public members, is the same).
  const { x, y, d } = await crypto.subtle.exportKey('jwk', keyPair.privateKey)
  const handMade = async (jwk: Record<string, unknown>) =>
    await new SignJWT({
      htm: 'GET',
      htu: plain.notes.href,
      jti: randomUUID(),
      iat: Math.floor(Date.now() / 1000),
      ath: Buffer.from(await crypto.subtle.digest('SHA-256', Buffer.from(token))).toString('base64url')
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: 'EC', crv: 'P-256', x, y, ...jwk } })
      .sign(keyPair.privateKey)
  t.equal((await call(token, sendingProof(DPoP, await handMade({})))).status, 200, 'the hand-made proof, with the public key')
  t.same(await dpopError(sendingProof(DPoP, await handMade({ d }))), [401, 'invalid_dpop_proof'], 'the same with the private key in its jwk')

  t.equal((await call(token, { DPoP })).status, 200, 'and the owner, with a fresh proof, is still served')
})

t.test('a stolen refresh token: invalid_grant with another key or none, and the owner still refreshes', async (t) => {
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  const { tokens } = await login(DPoP)
  const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  t.same(await tokenErrorOf(refresh(tokens.refresh_token!, thief)), { status: 400, error: 'invalid_grant' }, 'with a proof of another key')
  t.same(await tokenErrorOf(refresh(tokens.refresh_token!)), { status: 400, error: 'invalid_grant' }, 'without a proof')
  const refreshed = await refresh(tokens.refresh_token!, DPoP)
  t.equal(refreshed.token_type, 'dpop', 'the owner refreshes: the refusals rotated nothing and ended no session')
  t.equal((await call(refreshed.access_token, { DPoP })).status, 200)
})

t.test('Ed25519 keys: oauth4webapi names the algorithm Ed25519 (RFC 9864 §2.2); taken as EdDSA', async (t) => {
  const keyPair = await oauth.generateKeyPair('Ed25519')
  const DPoP = oauth.DPoP(client, keyPair)
  const { tokens } = await login(DPoP)
  t.match(claimsOf(tokens.access_token), { cnf: { jkt: await DPoP.calculateThumbprint() } }, "a proof with alg 'Ed25519' binds the token")
  t.equal((await call(tokens.access_token, { DPoP })).status, 200, 'and is taken at the resource')
  const remapped = oauth.DPoP(client, keyPair, remapEd25519)
  t.equal((await call(tokens.access_token, { DPoP: remapped })).status, 200, "so is a proof of the same key named EdDSA (oauth4webapi's remapping)")

  // The name changes nothing of what the key must be: an ES256 signature under 'Ed25519' is refused.
  const misnamed = oauth.DPoP(client, await oauth.generateKeyPair('ES256'), {
    [oauth.modifyAssertion]: (header) => {
      header.alg = 'Ed25519'
    }
  })
  t.same(await tokenErrorOf(login(misnamed)), { status: 400, error: 'invalid_dpop_proof' }, "a P-256 key's proof named Ed25519")
})
