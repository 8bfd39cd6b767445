import t, { type Test } from 'tap'
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto'
import { forge } from '../helpers/jwt.js'
import { memoryDpopReplay } from '../../plugins/index.js'
import { tokenApp, tokenRequest, ADA, KEY_A, START } from '../oauth2-server/token-app.js'

// The in-memory replay cache refuses every new proof once it holds `max` live ones (503,
// WARDEN_ERR_DPOP_REPLAY_FULL), for everyone. What fills it: any proof that verifies, recorded
// before anything else about the request is known to hold. The token endpoint's side (refused
// token requests) is tested in test/oauth2-server/dpop-binding.test.ts; what remains here is the
// resource server's. Here `max` is 50 so the test is quick; the mechanism is the same.

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
