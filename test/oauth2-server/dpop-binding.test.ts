import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { ProofKey } from '../helpers/dpop.js'
import { memoryDpopReplay, type DpopReplayCache } from '../../plugins/index.js'
import { ADA, KEY_A, KEY_B, MOBILE, START, claimsOf, digestOf, refreshOf, tokenApp, tokenRequest } from './token-app.js'

// RFC 9449 from the issuing side, given the key of a verified proof: access tokens bound to it
// (cnf.jkt, token_type DPoP), a public client's refresh tokens bound to it (§5), a confidential
// client's not, each of its access tokens bound to the key of that request's proof.

const REFUSED = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' }
const BAD_PROOF = { error: 'invalid_dpop_proof', error_description: 'The DPoP proof is invalid.' }

/** A replay cache of `max` proofs that counts what is written to it, and fails while `down`. */
function countedReplay (max?: number): DpopReplayCache & { writes: number, down: boolean } {
  const cache = memoryDpopReplay(max === undefined ? {} : { max })
  return {
    writes: 0,
    down: false,
    firstUse (key, expiresAt) {
      if (this.down) throw new Error('the replay cache is down')
      this.writes++
      return cache.firstUse(key, expiresAt)
    }
  }
}

const notes = (app: FastifyInstance): void => {
  app.get('/notes', { schema: { security: [{ oauth2: [] }] } }, async (request) => ({ sub: request.auth?.subject }))
}

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

t.test('a rotated token presented again is reuse, key or not: the family is revoked (a spent token may predate the binding)', async (t) => {
  for (const key of [KEY_B, undefined, KEY_A]) {
    const { app, store, lines } = await tokenApp(t)
    const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
    const next = (await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))).json()
    t.same((await app.inject(await tokenRequest(refreshOf(login.refresh_token), key))).json(), REFUSED)
    const how = key === undefined ? 'no proof' : key === KEY_A ? 'its key' : 'another key'
    t.ok(lines.some((l) => l.event === 'auth.refresh.reuse_detected'), `reuse detected (${how})`)
    t.equal(await store.refreshTokens.find(digestOf(next.refresh_token)), null, 'the session revoked')
  }
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

t.test('a public family started without a key is bound at its first refresh with a proof (RFC 9449 §5): a thief\'s key, or none, is refused', async (t) => {
  const { app, store, lines } = await tokenApp(t)
  const login = (await app.inject(await tokenRequest(ADA))).json()
  t.match(await store.refreshTokens.find(digestOf(login.refresh_token)), { jkt: null }, 'a login without a proof: unbound')
  const proved = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.equal(proved.statusCode, 200)
  t.equal(proved.json().token_type, 'DPoP', 'the client now uses DPoP with key A')
  t.match(claimsOf(proved.json().access_token), { cnf: { jkt: KEY_A.jkt } })
  const stolen = proved.json().refresh_token
  t.match(await store.refreshTokens.find(digestOf(stolen)), { jkt: KEY_A.jkt, rotatedAt: null }, 'the refresh token it was issued is bound')
  t.match(await store.refreshTokens.find(digestOf(login.refresh_token)), { jkt: KEY_A.jkt }, 'the family is: its rotated token too')

  for (const [key, reason] of [[KEY_B, 'a refresh token bound to another DPoP key'], [undefined, 'a bound refresh token without a DPoP proof']] as const) {
    const res = await app.inject(await tokenRequest(refreshOf(stolen), key))
    t.same([res.statusCode, res.json()], [400, REFUSED], reason)
    t.match(lines.filter((l) => l.event === 'auth.failed').at(-1), { reason })
  }
  t.match(await store.refreshTokens.find(digestOf(stolen)), { rotatedAt: null }, 'neither rotated it')
  t.equal((await app.inject(await tokenRequest(refreshOf(stolen), KEY_A))).statusCode, 200, 'with key A, the client goes on')
})

t.test('a retry of a binding refresh within the reuse interval is answered as the refresh was; one that asks for another binding is refused', async (t) => {
  const { app, store, lines, clock } = await tokenApp(t, { server: { reuseInterval: 30 } })
  const login = (await app.inject(await tokenRequest(ADA))).json()
  const first = (await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))).json()
  clock.now += 5000
  const retry = await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.equal(retry.statusCode, 200, 'the answer lost, the client retries with a new proof of its key')
  t.same([retry.json().refresh_token, retry.json().token_type], [first.refresh_token, 'DPoP'], 'the same successor, bound alike')
  t.match(claimsOf(retry.json().access_token), { cnf: { jkt: KEY_A.jkt } })
  for (const key of [undefined, KEY_B]) {
    const refused = await app.inject(await tokenRequest(refreshOf(login.refresh_token), key))
    t.same(refused.json(), REFUSED, `a retry ${key === undefined ? 'without a proof' : 'with another key'}`)
  }

  const plain = (await app.inject(await tokenRequest(ADA))).json()
  const unbound = (await app.inject(await tokenRequest(refreshOf(plain.refresh_token)))).json()
  t.equal(unbound.token_type, 'Bearer', 'a refresh without a proof leaves the family unbound')
  const asking = await app.inject(await tokenRequest(refreshOf(plain.refresh_token), KEY_A))
  t.same([asking.statusCode, asking.json()], [400, REFUSED], 'a retry with a proof would be a bound token the rotation did not make: refused')
  t.match(await store.refreshTokens.find(digestOf(unbound.refresh_token)), { jkt: null, rotatedAt: null }, 'nothing changed')
  t.notOk(lines.some((l) => l.event === 'auth.refresh.reuse_detected'), 'no session revoked')
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
  const again = await app.inject(replayed)
  t.same([again.statusCode, again.json()], [400, BAD_PROOF], 'a proof used once is not used again')
  const wrong = await tokenRequest({ ...ADA, password: 'not it' }, KEY_A)
  t.equal((await app.inject(wrong)).json().error, 'invalid_grant')
  t.equal((await app.inject({ ...wrong, payload: new URLSearchParams(ADA).toString() })).statusCode, 200, 'a proof refused with its request is not used')
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

t.test('refused token requests take no room in the replay cache: anyone\'s fresh proofs cannot fill it', async (t) => {
  const MAX = 50
  const replay = countedReplay(MAX)
  const { app } = await tokenApp(t, { bearer: { dpop: { replay } }, routes: notes })
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  t.equal(replay.writes, 1, 'a granted request uses its proof')
  // No account, no client, a fresh self-signed proof each time: what anyone can send, and what a thief can.
  const refused: Array<[Record<string, string>, number, string]> = [
    [refreshOf('wdr_' + 'A'.repeat(43)), 400, 'invalid_grant'],
    [{ ...ADA, password: 'not it' }, 400, 'invalid_grant'],
    [{ grant_type: 'client_credentials' }, 401, 'invalid_client'],
    [refreshOf(login.refresh_token), 400, 'invalid_grant'],
    [refreshOf(login.refresh_token, { client_id: 'thief-app' }), 400, 'invalid_grant']
  ]
  const answers = new Set<string>()
  for (let i = 0; i < MAX; i++) {
    const [fields, status, error] = refused[i % refused.length]
    const res = await app.inject(await tokenRequest(fields, KEY_B))
    answers.add(`${res.statusCode} ${res.json().error}` === `${status} ${error}` ? 'as expected' : `${res.statusCode} ${res.json().error}`)
  }
  t.same([...answers], ['as expected'], 'each refused as it should be')
  t.equal(replay.writes, 1, 'none of them written to the cache')

  const iat = Math.floor(START / 1000)
  const own = await app.inject({
    url: '/notes',
    headers: { authorization: `DPoP ${login.access_token}`, dpop: await KEY_A.proof({ htm: 'GET', htu: 'http://localhost:80/notes', token: login.access_token, iat }) }
  })
  t.same([own.statusCode, own.json()], [200, { sub: 'u-ada' }], 'the user\'s own DPoP request is served')
  t.equal((await app.inject(await tokenRequest(ADA, KEY_A))).statusCode, 200, 'and a login with DPoP')
})

t.test('one proof on token requests in flight: at most one gets tokens, and a refresh replayed revokes nothing', async (t) => {
  const IN_FLIGHT = 8
  const { app, store, lines } = await tokenApp(t)
  const atOnce = async (request: Awaited<ReturnType<typeof tokenRequest>>) => {
    const answers = await Promise.all(Array.from({ length: IN_FLIGHT }, async () => await app.inject(request)))
    const granted = answers.filter((a) => a.statusCode === 200).map((a) => a.json())
    const replayed = answers.filter((a) => a.statusCode === 400 && a.json().error === BAD_PROOF.error)
    return { granted, replayed: replayed.length }
  }
  const logins = await atOnce(await tokenRequest(ADA, KEY_A))
  t.same([logins.granted.length, logins.replayed], [1, IN_FLIGHT - 1], 'password: one login')
  const login = logins.granted[0]
  const held = store.refreshTokens.size
  t.equal(held, 1, 'one session started')

  const refreshes = await atOnce(await tokenRequest(refreshOf(login.refresh_token), KEY_A))
  t.same([refreshes.granted.length, refreshes.replayed], [1, IN_FLIGHT - 1], 'refresh_token: one rotation')
  t.match(await store.refreshTokens.find(digestOf(refreshes.granted[0].refresh_token)), { rotatedAt: null }, 'its successor current: the session lives')
  t.same([store.refreshTokens.size, lines.some((l) => l.event === 'auth.refresh.reuse_detected')], [held + 1, false], 'no reuse seen')

  const services = await atOnce(await tokenRequest({ grant_type: 'client_credentials', ...MOBILE }, KEY_B))
  t.same([services.granted.length, services.replayed], [1, IN_FLIGHT - 1], 'client_credentials: one token')
})

t.test('the replay cache down when a granted request would use its proof: 503, no tokens, nothing rotated', async (t) => {
  const replay = countedReplay()
  const { app, store, checks } = await tokenApp(t, { bearer: { dpop: { replay } } })
  const login = (await app.inject(await tokenRequest(ADA, KEY_A))).json()
  replay.down = true
  const held = store.refreshTokens.size
  for (const fields of [ADA, refreshOf(login.refresh_token), { grant_type: 'client_credentials', ...MOBILE }]) {
    const res = await app.inject(await tokenRequest(fields, KEY_A))
    t.same([res.statusCode, res.headers['retry-after']], [503, '5'], `${fields.grant_type}: the service is unavailable`)
  }
  t.equal(checks(), 2, 'the password was checked')
  t.equal(store.refreshTokens.size, held, 'no session started')
  t.match(await store.refreshTokens.find(digestOf(login.refresh_token)), { rotatedAt: null }, 'none rotated')
  replay.down = false
  t.equal((await app.inject(await tokenRequest(refreshOf(login.refresh_token), KEY_A))).statusCode, 200, 'back up: the same token refreshes')
})
