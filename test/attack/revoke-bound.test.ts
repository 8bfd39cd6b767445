import t from 'tap'
import { tokenApp, tokenRequest, ADA, KEY_A, KEY_B, MOBILE, claimsOf, digestOf, refreshOf } from '../oauth2-server/token-app.js'

// grants.ts promises of a public client's bound refresh token that "without the key, a stolen
// token neither refreshes nor ends the session" (the refresh grant refuses it before anything is
// rotated or revoked). The revocation endpoint (/auth/revoke, RFC 7009) ends it anyway: it asks
// for no proof of the key, and it never checks that the token was issued to the calling client
// (RFC 7009 §2.1: "verifies whether the token was issued to the client making the revocation
// request. If this validation fails, the request is refused").

const revoke = (token: string, client: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/auth/revoke',
  payload: new URLSearchParams({ token, ...client }).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' }
})

t.test('a thief holding a bound refresh token but not its key ends the victim\'s session through the revocation endpoint', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  t.match(await store.refreshTokens.find(digestOf(login.refresh_token)), { jkt: KEY_A.jkt }, 'the session is bound to the victim\'s key')

  // What the refresh grant refuses: the thief's key, or none.
  t.equal((await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_B))).statusCode, 400, 'the thief cannot refresh')

  // The thief posts it to /auth/revoke as a public client with a client_id of their own.
  const res = await app.inject(revoke(login.refresh_token, { client_id: 'thief-app' }))
  t.comment('revocation answered', res.statusCode)
  t.not(await store.refreshTokens.find(digestOf(login.refresh_token)), null, 'the victim\'s session still lives')
  t.equal(store.isRevoked({ sid: claimsOf(login.access_token).sid }), false, 'and its access tokens are not revoked')
  const refreshed = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.equal(refreshed.statusCode, 200, `the victim, with the key, can still refresh (got ${refreshed.statusCode})`)
})

t.test('a bound access token revoked by whoever holds it: another client, no proof', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest({ ...ADA, ...MOBILE }, KEY_A))).json()
  t.match(claimsOf(login.access_token), { client_id: 'mobile', cnf: { jkt: KEY_A.jkt } })
  await app.inject(revoke(login.access_token, { client_id: 'thief-app' }))
  t.equal(store.isRevoked({ jti: claimsOf(login.access_token).jti }), false, 'a token of client mobile is not revoked by client thief-app')
  await app.inject(revoke(login.refresh_token, { client_id: 'thief-app' }))
  t.not(await store.refreshTokens.find(digestOf(login.refresh_token)), null, 'nor is the confidential client\'s session, by a public client')
})
