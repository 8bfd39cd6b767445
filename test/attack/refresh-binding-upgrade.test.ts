import t from 'tap'
import { tokenApp, tokenRequest, ADA, KEY_A, KEY_B, claimsOf, refreshOf } from '../oauth2-server/token-app.js'

// RFC 9449 §5: "When an authorization server supporting DPoP issues a refresh token to a public
// client that presents a valid DPoP proof at the token endpoint, the refresh token MUST be bound
// to the respective public key." grants.ts keeps a public family that began without a proof
// unbound for ever (its comment says §5 allows it): the refresh token it issues in answer to a
// public client's refresh *with* a valid proof is a bearer credential. The client did everything
// DPoP asks (a session from before it adopted DPoP, or a first login whose proof was dropped),
// yet whoever steals that refresh token refreshes with a key of their own, or with none, and
// gets live access tokens (Bearer ones, even).

t.test('a refresh token issued to a public client that presented a valid proof is bound to that proof\'s key', async (t) => {
  const { app } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA))).json()
  const proved = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.equal(proved.statusCode, 200)
  t.equal(proved.json().token_type, 'DPoP', 'the client now uses DPoP with key A')
  const stolen = proved.json().refresh_token

  const thiefKey = await app.inject(await tokenRequest(refreshOf(stolen), KEY_B))
  const jkt = thiefKey.statusCode === 200 ? (claimsOf(thiefKey.json().access_token).cnf as { jkt: string }).jkt : undefined
  const what = jkt === KEY_B.jkt ? ', an access token bound to the thief\'s key' : ''
  t.equal(thiefKey.statusCode, 400, `a thief's key is refused (got ${thiefKey.statusCode}${what})`)
})

t.test('… and one without any proof is refused too', async (t) => {
  const { app } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA))).json()
  const proved = (await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))).json()
  const bare = await app.inject(await tokenRequest(refreshOf(proved.refresh_token)))
  t.equal(bare.statusCode, 400, `no proof is refused (got ${bare.statusCode} ${bare.statusCode === 200 ? bare.json().token_type : ''})`)
})
