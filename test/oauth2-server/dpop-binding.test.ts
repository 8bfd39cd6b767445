import t from 'tap'
import type { ProofKey } from '../helpers/dpop.js'
import { ADA, KEY_A, KEY_B, MOBILE, claimsOf, digestOf, refreshOf, tokenApp, tokenRequest } from './token-app.js'

// RFC 9449 from the issuing side, given the key of a verified proof: access tokens bound to it
// (cnf.jkt, token_type DPoP), a public client's refresh tokens bound to it (§5), a confidential
// client's not, each of its access tokens bound to the key of that request's proof.

const REFUSED = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' }

t.test('a proof binds the access token: cnf.jkt, token_type DPoP; without one, a Bearer token as before', async (t) => {
  const { app, store } = await tokenApp(t)
  const bound = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  t.equal(bound.token_type, 'DPoP')
  t.match(claimsOf(bound.access_token), { sub: 'u-ada', cnf: { jkt: KEY_A.jkt } })
  t.match(await store.refreshTokens.find(digestOf(bound.refresh_token)), { jkt: KEY_A.jkt, rotatedAt: null }, 'a public client\'s session is bound')

  const bearer = (await app.inject(await tokenRequest(ADA))).json()
  t.equal(bearer.token_type, 'Bearer')
  t.notOk('cnf' in claimsOf(bearer.access_token))
  t.match(await store.refreshTokens.find(digestOf(bearer.refresh_token)), { jkt: null })

  const service = (await app.inject(await tokenRequest({ grant_type: 'client_credentials', ...MOBILE }, KEY_B))).json()
  t.equal(service.token_type, 'DPoP', 'client_credentials too')
  t.match(claimsOf(service.access_token), { sub: 'mobile', cnf: { jkt: KEY_B.jkt } })
})

t.test('a public client\'s bound refresh token: only with a proof of its key, and a refusal rotates nothing', async (t) => {
  const { app, store, lines } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  const presented = digestOf(login.refresh_token)
  const held = store.refreshTokens.size

  const refusals: Array<[ProofKey | undefined, string]> = [
    [KEY_B, 'a refresh token bound to another DPoP key'],
    [undefined, 'a bound refresh token without a DPoP proof']
  ]
  for (const [key, reason] of refusals) {
    lines.length = 0
    const res = await app.inject(await tokenRequest(refreshOf(login.refresh_token), key))
    t.same([res.statusCode, res.json()], [400, REFUSED], reason)
    t.match(lines.find((l) => l.event === 'auth.failed'), { scheme: 'oauth2Server', reason, subject: 'u-ada' })
    t.notOk(lines.some((l) => l.event === 'auth.refresh.reuse_detected' || l.event === 'auth.token.refreshed'))
  }
  t.match(await store.refreshTokens.find(presented), { jkt: KEY_A.jkt, rotatedAt: null }, 'not rotated: still the current token')
  t.equal(store.refreshTokens.size, held, 'no successor stored')
  t.equal(store.isRevoked({ sid: claimsOf(login.access_token).sid }), false, 'and the session lives')

  const res = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.equal(res.statusCode, 200, 'the original token, with the right key, still works')
  const refreshed = res.json()
  t.equal(refreshed.token_type, 'DPoP')
  t.match(claimsOf(refreshed.access_token), { cnf: { jkt: KEY_A.jkt }, sid: claimsOf(login.access_token).sid })
  t.match(await store.refreshTokens.find(presented), { rotatedAt: Number })
  t.match(await store.refreshTokens.find(digestOf(refreshed.refresh_token)), { jkt: KEY_A.jkt, rotatedAt: null }, 'its successor is bound too')
  t.equal((await app.inject(await tokenRequest(refreshOf(refreshed.refresh_token), KEY_B))).statusCode, 400, 'and refused with another key')
})

t.test('a rotated bound token presented without its key is refused without revoking the session', async (t) => {
  const { app, store, lines } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  const next = (await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))).json()
  t.same((await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_B))).json(), REFUSED)
  t.notOk(lines.some((l) => l.event === 'auth.refresh.reuse_detected'), 'who lacks the key cannot end the session either')
  t.match(await store.refreshTokens.find(digestOf(next.refresh_token)), { rotatedAt: null })
  t.same((await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))).json(), REFUSED, 'with the key, reuse as ever')
  t.equal(await store.refreshTokens.find(digestOf(next.refresh_token)), null, 'the session revoked')
})

t.test('a confidential client\'s refresh tokens are not bound: each access token takes the key of its own request', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest({ ...ADA, ...MOBILE }, KEY_A))).json()
  t.match(claimsOf(login.access_token), { client_id: 'mobile', cnf: { jkt: KEY_A.jkt } })
  t.match(await store.refreshTokens.find(digestOf(login.refresh_token)), { jkt: null }, 'the client proves itself at each refresh')

  const other = await app.inject(await tokenRequest(refreshOf(login.refresh_token, MOBILE), KEY_B))
  t.equal(other.statusCode, 200, 'another key: the client rotated its key')
  t.equal(other.json().token_type, 'DPoP')
  t.match(claimsOf(other.json().access_token), { cnf: { jkt: KEY_B.jkt } })
  const none = (await app.inject(await tokenRequest(refreshOf(other.json().refresh_token, MOBILE)))).json()
  t.equal(none.token_type, 'Bearer', 'no proof: a Bearer token')
  t.notOk('cnf' in claimsOf(none.access_token))
})

t.test('a public family started without a key stays unbound: a proof at a refresh binds the access token only', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA))).json()
  const proved = (await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))).json()
  t.equal(proved.token_type, 'DPoP')
  t.match(claimsOf(proved.access_token), { cnf: { jkt: KEY_A.jkt } })
  t.match(await store.refreshTokens.find(digestOf(proved.refresh_token)), { jkt: null })
  const plain = await app.inject(await tokenRequest(refreshOf(proved.refresh_token)))
  t.equal(plain.statusCode, 200, 'and the refresh token is still usable without a proof')
  t.equal(plain.json().token_type, 'Bearer')
})

t.test('a proof refused is refused before any password is checked or token rotated', async (t) => {
  const { app, store, checks } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  t.equal(checks(), 1)
  const bad = await app.inject(await tokenRequest(ADA, 'bad'))
  t.same([bad.statusCode, bad.json()], [400, { error: 'invalid_dpop_proof', error_description: 'The DPoP proof is invalid.' }])
  t.equal(checks(), 1, 'no password checked')
  const replayed = await tokenRequest(ADA, KEY_A)
  t.equal((await app.inject(replayed)).statusCode, 200)
  t.same((await app.inject(replayed)).json().error, 'invalid_dpop_proof', 'a proof used once is not used again')
  t.equal((await app.inject(await tokenRequest(refreshOf(login.refresh_token), 'bad'))).statusCode, 400)
  t.match(await store.refreshTokens.find(digestOf(login.refresh_token)), { rotatedAt: null }, 'nothing rotated')
})

t.test('12 refreshes of one bound token in flight, with its key: the reuse rules hold, one rotation', async (t) => {
  for (const reuseInterval of [0, 10]) {
    const { app, store, lines } = await tokenApp(t, { server: { reuseInterval } })
    const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
    const held = store.refreshTokens.size
    const answers = await Promise.all(Array.from({ length: 12 }, async () => await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))))
    const ok = answers.filter((a) => a.statusCode === 200).map((a) => a.json())
    t.equal(store.refreshTokens.size, held + 1, `reuse interval ${reuseInterval}: one successor stored`)
    t.ok(ok.every((a) => a.token_type === 'DPoP' && (claimsOf(a.access_token).cnf as { jkt: string }).jkt === KEY_A.jkt))
    const reused = lines.filter((l) => l.event === 'auth.refresh.reuse_detected').length
    if (reuseInterval === 0) {
      t.same([ok.length, reused], [1, 1], 'one rotation; the next presentation is reuse, reported once')
      t.equal(await store.refreshTokens.find(digestOf(ok[0].refresh_token)), null, 'and the session revoked')
    } else {
      t.same([ok.length, reused, new Set(ok.map((a) => a.refresh_token)).size], [12, 0, 1], 'retries: the one successor for all')
      t.match(await store.refreshTokens.find(digestOf(ok[0].refresh_token)), { jkt: KEY_A.jkt, rotatedAt: null })
    }
  }
})

t.test('server nonces at the token endpoint: use_dpop_nonce with the nonce, then the proof with it binds; metadata lists the algorithms', async (t) => {
  const { app } = await tokenApp(t, { bearer: { dpop: { nonce: { secret: 's'.repeat(32) } } } })
  const first = await app.inject(await tokenRequest(ADA, KEY_A))
  t.same([first.statusCode, first.json()], [400, { error: 'use_dpop_nonce', error_description: 'Sign the DPoP proof with the nonce given.' }])
  const nonce = first.headers['dpop-nonce'] as string
  t.ok(nonce)
  const request = await tokenRequest(ADA, KEY_A, nonce)
  const second = await app.inject(request)
  t.equal(second.statusCode, 200)
  t.match(claimsOf(second.json().access_token), { cnf: { jkt: KEY_A.jkt } })
  const metadata = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json()
  t.equal(metadata.dpop_signing_alg_values_supported[0], 'ES256')
})
