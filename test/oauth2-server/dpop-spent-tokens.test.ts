import t from 'tap'
import { memoryDpopReplay, type DpopReplayCache } from '../../plugins/index.js'
import { ADA, KEY_A, KEY_B, claimsOf, digestOf, refreshOf, tokenApp, tokenRequest } from './token-app.js'

// Attacks on the token endpoint's DPoP handling and revocation (RFC 9449 §5, RFC 7009, RFC 9700 §4.14.2).

function countedReplay (): DpopReplayCache & { writes: number } {
  const cache = memoryDpopReplay()
  return {
    writes: 0,
    firstUse (key, expiresAt) {
      this.writes++
      return cache.firstUse(key, expiresAt)
    }
  }
}

t.test('HIJACK: a thief who binds a stolen unbound public refresh token to his key makes reuse detection powerless', async (t) => {
  // A public client logged in without DPoP (unbound family). Its refresh token T0 is stolen.
  const { app, store, lines, clock } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA))).json()
  const sid = claimsOf(login.access_token).sid

  // The thief refreshes T0 first, with a proof of his own key B: the family is now bound to B.
  const thief = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_B))
  t.equal(thief.statusCode, 200, 'thief refreshed with his key')
  clock.now += 60_000

  // The victim presents T0 again (it is a rotated token now): this is exactly RFC 9700 §4.14.2 reuse.
  const victim = await app.inject(await tokenRequest(refreshOf(login.refresh_token)))
  t.equal(victim.statusCode, 400, 'the victim is refused')
  t.ok(lines.some((l) => l.event === 'auth.refresh.reuse_detected'),
    'reuse of a token rotated by the binding refresh must be detected')
  t.equal(store.isRevoked({ sid }), true, 'the hijacked session must be revoked')
  t.equal(await store.refreshTokens.find(digestOf(thief.json().refresh_token)), null, "the thief's successor must be dead")

  // The victim, with its own key, cannot end it either: the thief's key is required.
  const withKey = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.equal(withKey.statusCode, 400)
  const goesOn = await app.inject(await tokenRequest(refreshOf(thief.json().refresh_token), KEY_B))
  t.not(goesOn.statusCode, 200, 'the thief must not keep refreshing after the victim reused the token')
})

t.test('HIJACK (revocation): the victim cannot revoke the session a thief bound to his key', async (t) => {
  const { app, store } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA))).json()
  const thief = (await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_B))).json()
  const res = await app.inject({
    method: 'POST',
    url: '/auth/revoke',
    payload: new URLSearchParams({ token: login.refresh_token }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.comment(res.statusCode, res.body)
  t.equal(res.statusCode, 200, 'the legitimate holder of the session\'s original token must be able to end it')
  t.equal(await store.refreshTokens.find(digestOf(thief.refresh_token)), null, "the thief's session must be ended")
})

t.test('CACHE: a refused refresh (retry asking for a binding the rotation did not make) still writes its proof to the replay cache', async (t) => {
  const replay = countedReplay()
  const { app, store, clock } = await tokenApp(t, { server: { reuseInterval: 30 }, bearer: { dpop: { replay } } })
  const login = (await app.inject(await tokenRequest(ADA))).json()
  const next = (await app.inject(await tokenRequest(refreshOf(login.refresh_token)))).json()
  clock.now += 1000
  const before = replay.writes
  for (let i = 0; i < 20; i++) {
    const res = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
    t.equal(res.statusCode, 400, 'refused, nothing granted')
  }
  t.match(await store.refreshTokens.find(digestOf(next.refresh_token)), { rotatedAt: null, jkt: null }, 'nothing rotated or bound')
  t.equal(replay.writes - before, 0, 'a refused request must take no room in the replay cache (claim)')
})

t.test('a refresh refused as reuse records its proof (so the same request replayed revokes nothing), once per family: the family is revoked', async (t) => {
  const replay = countedReplay()
  const { app, clock } = await tokenApp(t, { bearer: { dpop: { replay } } })
  const login = (await app.inject(await tokenRequest(ADA))).json()
  await app.inject(await tokenRequest(refreshOf(login.refresh_token)))
  clock.now += 60_000
  const before = replay.writes
  const res = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.equal(res.statusCode, 400)
  t.equal(replay.writes - before, 1, 'one write, for a reuse that ended the family')
  const again = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.equal(again.statusCode, 400)
  t.equal(replay.writes - before, 1, 'and none for a token whose family is gone')
})
