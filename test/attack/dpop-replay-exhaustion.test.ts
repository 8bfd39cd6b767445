import t, { type Test } from 'tap'
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto'
import { forge } from '../helpers/jwt.js'
import { memoryDpopReplay } from '../../plugins/index.js'
import { tokenApp, tokenRequest, ADA, KEY_A, START } from '../oauth2-server/token-app.js'

// The in-memory replay cache refuses every new proof once it holds `max` live ones (503,
// WARDEN_ERR_DPOP_REPLAY_FULL), for everyone. What fills it: any proof that verifies, recorded
// before anything else about the request is known to hold. At the token endpoint that is any
// request at all (a public client, a wrong password): an unauthenticated attacker fills the cache
// with self-signed proofs and every user's DPoP requests fail until the proofs expire (90 s by
// default), again and again. The default `max` is 100 000: ~1 100 requests a second, from anywhere.
// Here `max` is 50 so the test is quick; the mechanism is the same.

const MAX = 50
const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const attackerJwk = attacker.publicKey.export({ format: 'jwk' })

function attackerProof (htm: string, htu: string, iat: number, extra: Record<string, unknown> = {}): string {
  return forge({ typ: 'dpop+jwt', alg: 'ES256', jwk: attackerJwk }, { htm, htu, iat, jti: randomUUID(), ...extra }, attacker.privateKey)
}

async function app (t: Test) {
  let clock: { now: number } = { now: START }
  const fixture = await tokenApp(t, {
    bearer: { dpop: { replay: memoryDpopReplay({ max: MAX, now: () => clock.now }) } },
    routes: (a, c) => {
      clock = c
      a.get('/notes', { schema: { security: [{ oauth2: [] }] } }, async (req) => ({ sub: req.auth?.subject }))
    }
  })
  return fixture
}

t.test('unauthenticated token requests (a made-up refresh token) fill the replay cache: a legitimate user\'s DPoP request then gets 503', async (t) => {
  const { app: server } = await app(t)
  const iat = Math.floor(START / 1000)
  // The victim logs in first and holds a bound token.
  const login = (await server.inject(await tokenRequest(ADA, KEY_A))).json()
  t.equal(login.token_type, 'DPoP')

  // The attacker: no account, no client, a made-up refresh token (no password checked, so no
  // lockout counts it), a fresh self-signed proof each time. Each is answered 400 invalid_grant.
  const answers = new Map<string, number>()
  for (let i = 0; i < MAX; i++) {
    const res = await server.inject({
      method: 'POST',
      url: '/token',
      payload: `grant_type=refresh_token&refresh_token=wdr_${'A'.repeat(43)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: attackerProof('POST', 'http://localhost:80/token', iat) }
    })
    const key = `${res.statusCode} ${res.json().error ?? res.json().title}`
    answers.set(key, (answers.get(key) ?? 0) + 1)
  }
  t.comment('the attacker\'s answers:', JSON.stringify([...answers]))

  const victim = await server.inject({
    url: '/notes',
    headers: {
      authorization: `DPoP ${login.access_token}`,
      dpop: await KEY_A.proof({ htm: 'GET', htu: 'http://localhost:80/notes', token: login.access_token, iat })
    }
  })
  t.equal(victim.statusCode, 200, `the victim's own request with a fresh proof is served (got ${victim.statusCode})`)
  const relogin = await server.inject(await tokenRequest(ADA, KEY_A))
  t.equal(relogin.statusCode, 200, `the victim can still log in with DPoP (got ${relogin.statusCode})`)
})

t.test('at the resource server, proofs of a key that is not the token\'s are recorded before the key is compared', async (t) => {
  const { app: server } = await app(t)
  const iat = Math.floor(START / 1000)
  const login = (await server.inject(await tokenRequest(ADA, KEY_A))).json()
  // A thief holds the stolen bound token, not its key: every proof of theirs is refused
  // ('not signed with the token's key'), yet each one takes a place in the cache.
  const answers = new Map<number, number>()
  for (let i = 0; i < MAX; i++) {
    const res = await server.inject({
      url: '/notes',
      headers: { authorization: `DPoP ${login.access_token}`, dpop: attackerProof('GET', 'http://localhost:80/notes', iat, { ath: createHash('sha256').update(login.access_token).digest('base64url') }) }
    })
    answers.set(res.statusCode, (answers.get(res.statusCode) ?? 0) + 1)
  }
  t.comment('the thief\'s answers:', JSON.stringify([...answers]))
  const owner = await server.inject({
    url: '/notes',
    headers: {
      authorization: `DPoP ${login.access_token}`,
      dpop: await KEY_A.proof({ htm: 'GET', htu: 'http://localhost:80/notes', token: login.access_token, iat })
    }
  })
  t.equal(owner.statusCode, 200, `the key's owner is served (got ${owner.statusCode})`)
})
