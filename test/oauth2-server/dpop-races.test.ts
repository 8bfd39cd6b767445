import t from 'tap'
import { ADA, KEY_A, KEY_B, START, claimsOf, digestOf, refreshOf, tokenApp, tokenRequest } from './token-app.js'

// Things that held: kept as regression tests of the claims (all pass against the current code).

const revoke = (fields: Record<string, string>, dpop?: string) => ({
  method: 'POST' as const,
  url: '/auth/revoke',
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop === undefined ? {} : { dpop }) }
})

t.test('one proof, many password grants in flight: one granted', async (t) => {
  const { app } = await tokenApp(t)
  const req = await tokenRequest(ADA, KEY_A)
  const codes = (await Promise.all(Array.from({ length: 10 }, async () => await app.inject(req)))).map((r) => r.statusCode)
  t.equal(codes.filter((c) => c === 200).length, 1)
})

t.test('one proof, refreshes of two sessions in flight: one granted', async (t) => {
  const { app } = await tokenApp(t)
  const a = (await app.inject(await tokenRequest(ADA))).json()
  const b = (await app.inject(await tokenRequest(ADA))).json()
  const proofed = await tokenRequest(refreshOf(a.refresh_token), KEY_A)
  const other = { ...proofed, payload: new URLSearchParams(refreshOf(b.refresh_token)).toString() }
  const codes = (await Promise.all([app.inject(proofed), app.inject(other)])).map((r) => r.statusCode)
  t.same(codes.sort(), [200, 400])
})

t.test('one unbound refresh token, two keys racing to bind: one wins, the other is a reuse that ends the session', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA))).json()
  const [ra, rb] = await Promise.all([
    app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A)),
    app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_B))
  ])
  t.same([ra.statusCode, rb.statusCode].sort(), [200, 400])
  const won = ra.statusCode === 200 ? ra.json() : rb.json()
  // The same token presented twice is RFC 9700's sign of theft, whichever key each came with.
  t.equal(await store.refreshTokens.find(digestOf(won.refresh_token)), null, 'the family is revoked')
})

t.test('refresh + revoke racing: the session ends, no live successor', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  const key = KEY_A
  const proof = await key.proof({ htm: 'POST', htu: 'http://localhost:80/auth/revoke', iat: Math.floor(START / 1000) })
  const [r, v] = await Promise.all([
    app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A)),
    app.inject(revoke({ token: login.refresh_token }, proof))
  ])
  t.equal(v.statusCode, 200)
  if (r.statusCode === 200) t.equal(await store.refreshTokens.find(digestOf(r.json().refresh_token)), null)
})

t.test('revocation: a proof for /token does not revoke a bound session; a proof for /auth/revoke does not refresh', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  const tokenProof = (await tokenRequest({}, KEY_A)).headers.dpop
  const v = await app.inject(revoke({ token: login.refresh_token }, tokenProof))
  t.equal(v.statusCode, 400)
  t.ok(await store.refreshTokens.find(digestOf(login.refresh_token)))
  const revokeProof = await KEY_A.proof({ htm: 'POST', htu: 'http://localhost:80/auth/revoke', iat: Math.floor(START / 1000) })
  const req = await tokenRequest(refreshOf(login.refresh_token))
  const r = await app.inject({ ...req, headers: { ...req.headers, dpop: revokeProof } })
  t.equal(r.statusCode, 400)
  const lie = await app.inject(revoke({ token: login.refresh_token, token_type_hint: 'access_token' }))
  t.equal(lie.statusCode, 400, 'hint lie does not skip the binding check')
  const other = await app.inject(revoke({ token: login.access_token, client_id: 'someone-else' }))
  t.equal(other.statusCode, 400, 'access token of another client')
})

t.test('LOW: a DPoP-bound access token is revoked by whoever holds it, without a proof of its key', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  const claims = claimsOf(login.access_token)
  const v = await app.inject(revoke({ token: login.access_token, token_type_hint: 'access_token' }))
  t.equal(v.statusCode, 400, 'a bound access token should need a proof of its key, as a bound session does')
  t.equal(store.isRevoked({ jti: claims.jti }), false)
})
