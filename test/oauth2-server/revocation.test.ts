import t, { type Test } from 'tap'
import type { ProofKey } from '../helpers/dpop.js'
import { ADA, KEY_A, KEY_B, MOBILE, START, claimsOf, digestOf, refreshOf, tokenApp, tokenRequest, type TokenApp } from './token-app.js'

// RFC 7009 revocation from the side of whoever holds a token: it is revoked only for the client it
// was issued to (§2.1), and a session bound to a DPoP key only with a proof of that key, as it is
// refreshed (RFC 9449 §5): who lacks the key neither refreshes a stolen token nor ends its session.
// A refusal is 400 unauthorized_client, nothing revoked; an unknown token is answered 200 (§2.2).

const NOT_ISSUED = { error: 'unauthorized_client', error_description: 'The token was not issued to this client.' }
const UNPROVED = { error: 'unauthorized_client', error_description: 'The token is bound to a DPoP key: revoke it with a proof of that key.' }

/** A revocation request by `client` (the public client when none), with a DPoP proof of `key` (`'bad'`: one that is not a proof). */
async function revoke (token: string, client: Record<string, string> = {}, key?: ProofKey | 'bad', hint?: string) {
  const proof = key === undefined
    ? undefined
    : key === 'bad' ? 'not.a.proof' : await key.proof({ htm: 'POST', htu: 'http://localhost:80/auth/revoke', iat: Math.floor(START / 1000) })
  return {
    method: 'POST' as const,
    url: '/auth/revoke',
    payload: new URLSearchParams({ token, ...client, ...(hint === undefined ? {} : { token_type_hint: hint }) }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(proof === undefined ? {} : { dpop: proof }) }
  }
}

/** Whether a session (by one of its refresh tokens and one of its access tokens) is untouched. */
async function lives (t: Test, { app, store }: TokenApp, session: { refresh_token: string, access_token: string }, key?: ProofKey): Promise<void> {
  t.not(await store.refreshTokens.find(digestOf(session.refresh_token)), null, 'the session lives')
  const { sid, jti } = claimsOf(session.access_token)
  t.same([store.isRevoked({ sid }), store.isRevoked({ jti })], [false, false], 'its access tokens are not revoked')
  const client = claimsOf(session.access_token).client_id === 'mobile' ? MOBILE : {}
  const refreshed = await app.inject(await tokenRequest(refreshOf(session.refresh_token, client), key))
  t.equal(refreshed.statusCode, 200, 'and it refreshes')
}

t.test('a token is revoked only for the client it was issued to: another client is refused, nothing revoked', async (t) => {
  const fixture = await tokenApp(t)
  const { app, lines } = fixture
  const web = (await app.inject(await tokenRequest(ADA))).json()
  const mobile = (await app.inject(await tokenRequest({ ...ADA, ...MOBILE }, KEY_A))).json()
  t.match(claimsOf(mobile.access_token), { client_id: 'mobile', cnf: { jkt: KEY_A.jkt } })

  const tokens = [[web.refresh_token, undefined], [web.access_token, 'access_token'], [mobile.access_token, undefined], [mobile.refresh_token, 'access_token']]
  for (const [token, hint] of tokens) {
    const res = await app.inject(await revoke(token, { client_id: 'thief-app' }, undefined, hint))
    t.same([res.statusCode, res.json(), res.headers['cache-control']], [400, NOT_ISSUED, 'no-store'], 'a public client of its own naming')
  }
  const refused = lines.filter((l) => l.event === 'auth.failed').map(({ scheme, reason, subject, session }) => ({ scheme, reason, subject, session }))
  const by = { scheme: 'oauth2Server', reason: 'a token of another client', subject: 'u-ada' }
  t.same(refused, [
    { ...by, session: claimsOf(web.access_token).sid },
    { ...by, session: undefined },
    { ...by, session: undefined },
    { ...by, session: claimsOf(mobile.access_token).sid }
  ], 'each refusal logged: the token named by its subject and session, never itself')
  t.notOk(lines.some((l) => l.event === 'auth.token.revoked'))
  const asMobile = await app.inject(await revoke(web.refresh_token, MOBILE))
  t.same([asMobile.statusCode, asMobile.json()], [400, NOT_ISSUED], 'nor by a confidential client: the public client\'s token is not its')
  const unproved = await app.inject(await revoke(mobile.refresh_token, { client_id: 'mobile' }))
  t.equal(unproved.json().error, 'invalid_client', 'naming a confidential client without its secret is no way round')
  await lives(t, fixture, web)
  await lives(t, fixture, mobile, KEY_B)
})

t.test('the client it was issued to revokes it: an access token alone, or a refresh token and its whole session', async (t) => {
  const { app, store } = await tokenApp(t)
  const mobile = (await app.inject(await tokenRequest({ ...ADA, ...MOBILE }, KEY_A))).json()
  t.equal((await app.inject(await revoke(mobile.access_token, MOBILE))).statusCode, 400, 'a bound access token: only with a proof of its key')
  t.equal(store.isRevoked({ jti: claimsOf(mobile.access_token).jti }), false)
  t.equal((await app.inject(await revoke(mobile.access_token, MOBILE, KEY_A))).statusCode, 200, 'with one, it is revoked; it ends no session')
  t.same([store.isRevoked({ jti: claimsOf(mobile.access_token).jti }), store.isRevoked({ sid: claimsOf(mobile.access_token).sid })], [true, false])
  const own = await app.inject(await revoke(mobile.refresh_token, MOBILE))
  t.equal(own.statusCode, 200, 'a confidential client\'s session is not bound: its secret is the proof')
  t.equal(await store.refreshTokens.find(digestOf(mobile.refresh_token)), null)
  t.equal(store.isRevoked({ sid: claimsOf(mobile.access_token).sid }), true, 'the session\'s access tokens with it')

  const web = (await app.inject(await tokenRequest(ADA))).json()
  t.equal((await app.inject(await revoke(web.refresh_token))).statusCode, 200, 'a public client\'s unbound session, by that client')
  t.equal(await store.refreshTokens.find(digestOf(web.refresh_token)), null)
})

t.test('a session bound to a DPoP key is revoked only with a proof of that key', async (t) => {
  const fixture = await tokenApp(t)
  const { app, store, lines } = fixture
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  t.match(await store.refreshTokens.find(digestOf(login.refresh_token)), { jkt: KEY_A.jkt }, 'a public client\'s session, bound')
  t.equal((await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_B))).statusCode, 400, 'a thief cannot refresh it')

  const refusals: Array<[ProofKey | 'bad' | undefined, number, unknown, string | undefined]> = [
    [undefined, 400, UNPROVED, 'a bound refresh token without a DPoP proof'],
    [KEY_B, 400, UNPROVED, 'a refresh token bound to another DPoP key'],
    ['bad', 400, { error: 'invalid_dpop_proof', error_description: 'The DPoP proof is invalid.' }, undefined]
  ]
  for (const [key, status, body, reason] of refusals) {
    lines.length = 0
    const res = await app.inject(await revoke(login.refresh_token, {}, key))
    t.same([res.statusCode, res.json()], [status, body], reason ?? 'a proof that is not one')
    if (reason !== undefined) t.match(lines.find((l) => l.event === 'auth.failed'), { reason, subject: 'u-ada', session: claimsOf(login.access_token).sid })
  }
  await lives(t, fixture, login, KEY_A)

  const next = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  const proved = await revoke(next.refresh_token, {}, KEY_A)
  t.equal((await app.inject(proved)).statusCode, 200, 'with a proof of its key: revoked')
  t.equal(await store.refreshTokens.find(digestOf(next.refresh_token)), null)
  t.equal(store.isRevoked({ sid: claimsOf(next.access_token).sid }), true)
  const third = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  const replayed = await app.inject({ ...proved, payload: new URLSearchParams({ token: third.refresh_token }).toString() })
  t.same([replayed.statusCode, replayed.json().error], [400, 'invalid_dpop_proof'], 'that proof used: replayed for another session of the key, refused')
  t.not(await store.refreshTokens.find(digestOf(third.refresh_token)), null, 'which lives')
})

t.test('unknown, invalid or ended tokens: 200 whoever asks, nothing revoked (RFC 7009 §2.2)', async (t) => {
  const { app, store, lines } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  await app.inject(await revoke(login.refresh_token, {}, KEY_A))
  for (const token of ['wdr_' + 'A'.repeat(43), 'not a token', login.refresh_token, login.access_token.slice(0, -2)]) {
    const res = await app.inject(await revoke(token, { client_id: 'thief-app' }))
    t.same([res.statusCode, res.body], [200, ''], token.slice(0, 12))
  }
  t.equal(lines.filter((l) => l.event === 'auth.token.revoked').length, 1, 'only the one revocation made')
  t.equal(store.isRevoked({ jti: claimsOf(login.access_token).jti }), false)
})
