import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { tokenApp, ADA, START } from '../oauth2-server/token-app.js'
import { bigExponentKey, rsaProof, type BigExponentKey } from '../helpers/rsa-big-exponent.js'

// RFC 9449 §11 / RFC 8725 §3.1 spirit: the proof's key is the client's, chosen by whoever sends
// the request, before any authentication. An RSA JWK with a 3072-bit public exponent is a valid
// JWK that OpenSSL imports, and verifying with it costs a full-size modular exponentiation
// (~13 ms on the event loop) instead of ~0.05 ms for e = 65537. The token endpoint checks the
// proof of any request, unauthenticated (a public client), before the grant: each request of
// the attacker blocks the event loop that long.

const HUGE = bigExponentKey(3072)
const ordinary = generateKeyPairSync('rsa', { modulusLength: 3072 })
const NORMAL: BigExponentKey = {
  jwk: ordinary.publicKey.export({ format: 'jwk' }) as BigExponentKey['jwk'],
  privateKey: ordinary.privateKey,
  eBits: 17,
  nBits: 3072
}

t.test('an unauthenticated token request whose proof key has a huge RSA exponent is refused before it costs a full modexp', async (t) => {
  const { app, clock } = await tokenApp(t)
  const iat = Math.floor(START / 1000)
  t.ok(HUGE.eBits > 3000, `the key's public exponent has ${HUGE.eBits} bits`)
  const request = (dpop: string) => ({
    method: 'POST' as const,
    url: '/token',
    payload: new URLSearchParams({ ...ADA, password: 'wrong' }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop }
  })

  // A well-signed proof of the huge-exponent key is taken as a proof key at all.
  const signed = await app.inject(request(rsaProof(HUGE, { htm: 'POST', htu: 'http://localhost:80/token', iat })))
  t.comment('a well-signed proof of it:', JSON.stringify(signed.json()))
  t.equal(signed.json().error, 'invalid_dpop_proof', `a key with a ${HUGE.eBits}-bit public exponent is not an acceptable proof key`)

  // The cost: the same (cached) header, a garbage signature, many times; the two kinds of proof in
  // alternate rounds, and the median round of each, so a busy moment of a shared machine weighs on neither.
  const proofs = new Map([NORMAL, HUGE].map((key) => [key, rsaProof(key, { htm: 'POST', htu: 'http://localhost:80/token', iat }, false)]))
  async function roundMs (key: BigExponentKey, n: number): Promise<number> {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const res = await app.inject(request(proofs.get(key)!))
      if (res.statusCode !== 400) throw new Error(`unexpected ${res.statusCode}`)
    }
    return (performance.now() - t0) / n
  }
  clock.now = START
  for (const key of proofs.keys()) await roundMs(key, 5)
  const rounds: Array<[number, number]> = []
  for (let r = 0; r < 7; r++) rounds.push([await roundMs(NORMAL, 8), await roundMs(HUGE, 8)])
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[3]
  const normal = median(rounds.map(([n]) => n))
  const huge = median(rounds.map(([, h]) => h))
  t.comment(`median round, per request: e=65537 ${normal.toFixed(2)} ms, e of ${HUGE.eBits} bits ${huge.toFixed(2)} ms (x${(huge / normal).toFixed(1)})`)
  t.ok(huge < normal * 3 + 1, `a request with the huge-exponent proof costs no more than an ordinary one (${huge.toFixed(2)} ms vs ${normal.toFixed(2)} ms)`)
})
