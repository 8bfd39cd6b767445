import t from 'tap'
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { connect } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import { NOW } from '../helpers/schemes.js'
import { SECRET } from '../helpers/keys.js'
import { forge } from '../helpers/jwt.js'
import { ASYMMETRIC, type Algorithm, type Jwk } from '../../plugins/oauth2-bearer/keys.js'
import { dpopProofHeader, jwkThumbprint, requestUri, verifyProof, type ProofExpectations, type ProofRules } from '../../plugins/oauth2-bearer/dpop-proof.js'
import { InvalidDpopProof, errors } from '../../plugins/errors.js'

// The proof checks of RFC 9449 §4.3 on their own: every fault refused with the reason logged and
// the error code the answer carries; the good paths signed by jose, an implementation of its own.
const RULES: ProofRules = { algorithms: new Set(ASYMMETRIC), lifetime: 60, clockTolerance: 5, now: () => NOW }
const URI = 'https://api.test/users'
const EXPECT: ProofExpectations = { method: 'GET', uri: URI }
const IAT = NOW / 1000

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ed = generateKeyPairSync('ed25519')
const jwkOf = (key: KeyObject): Jwk => key.export({ format: 'jwk' }) as Jwk
const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url')

/** A proof made by hand (ES256 and the P-256 key unless told), so every part can be wrong. */
function proof (header: Record<string, unknown> = {}, payload: Record<string, unknown> = {}, key: KeyObject = ec.privateKey): string {
  return forge(
    { typ: 'dpop+jwt', alg: 'ES256', jwk: jwkOf(ec.publicKey), ...header },
    { jti: randomUUID(), htm: 'GET', htu: URI, iat: IAT, ...payload },
    key
  )
}

/** 'accepted', or the refusal's error code and reason; a refusal must not quote the proof. */
function outcome (text: string, expected: Partial<ProofExpectations> = {}, rules: Partial<ProofRules> = {}): string {
  try {
    verifyProof(text, { ...EXPECT, ...expected }, { ...RULES, ...rules })
    return 'accepted'
  } catch (err) {
    if (!(err instanceof InvalidDpopProof)) throw err
    const quoted = [...text.split('.'), expected.accessToken ?? text].some((part) => part.length > 8 && err.message.includes(part))
    return quoted ? 'quotes the proof' : `${err.error}: ${err.reason}`
  }
}

t.test('jwkThumbprint: RFC 7638 §3.1, and jose for each key type', async (t) => {
  const rfc: Jwk = {
    kty: 'RSA',
    n: [
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB',
      'ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8',
      'KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_',
      'xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw'
    ].join(''),
    e: 'AQAB',
    alg: 'RS256',
    kid: '2011-04-29'
  }
  t.equal(jwkThumbprint(rfc), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', 'the RFC example, its kid and alg ignored')
  for (const [what, key] of [['EC', ec.publicKey], ['RSA', rsa.publicKey], ['OKP', ed.publicKey]] as const) {
    const jwk = { use: 'sig', kid: 'k', ...jwkOf(key) }
    t.equal(jwkThumbprint(jwk), await calculateJwkThumbprint(jwk as JWK), `${what}: as jose computes it`)
  }
  t.throws(() => jwkThumbprint({ kty: 'oct', k: SECRET }), { code: 'WARDEN_ERR_INVALID_DPOP_PROOF', reason: 'jwk key type not supported' })
  t.throws(() => jwkThumbprint({ x: 'a' }), { code: 'WARDEN_ERR_INVALID_DPOP_PROOF', reason: 'jwk key type not supported' })
  t.throws(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'a' }), { code: 'WARDEN_ERR_INVALID_DPOP_PROOF', reason: 'jwk member y is not a string' })
  t.throws(() => jwkThumbprint({ ...jwkOf(ed.publicKey), x: 1 as never }), { code: 'WARDEN_ERR_INVALID_DPOP_PROOF', reason: 'jwk member x is not a string' })
})

t.test('the good paths: ES256, ES384, RS256, PS256 and EdDSA proofs signed by jose', async (t) => {
  for (const [alg, options] of [['ES256', {}], ['ES384', {}], ['RS256', {}], ['PS256', {}], ['EdDSA', { crv: 'Ed25519' }]] as const) {
    const { privateKey, publicKey } = await generateKeyPair(alg, options)
    const jwk = await exportJWK(publicKey)
    const jti = randomUUID()
    const text = await new SignJWT({ htm: 'POST', htu: 'https://api.test/token', ath: sha256('the token') })
      .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk })
      .setIssuedAt(IAT)
      .setJti(jti)
      .sign(privateKey)
    const verified = verifyProof(text, { method: 'POST', uri: 'https://api.test/token', accessToken: 'the token' }, RULES)
    const jkt = await calculateJwkThumbprint(jwk)
    t.same(verified, { jkt, jti, iat: IAT, replayKey: sha256(`${jkt}.${jti}`), expiresAt: NOW + 65_000 + 1 }, alg)
  }
})

t.test('the header: one compact JWS, typ dpop+jwt, an asymmetric algorithm allowed, a public key that fits it', async (t) => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const bad = 'invalid_dpop_proof: '
  const PAYLOAD = { jti: 'j', htm: 'GET', htu: URI, iat: IAT }
  const cases: Array<[string, string, string]> = [
    ['not a JWS', 'abc.def', 'not a compact JWS'],
    ['a JWS with a space', ` ${proof()}`, 'not a compact JWS'],
    ['too long', proof({}, { pad: 'x'.repeat(9000) }), 'not a compact JWS'],
    ['alg none, unsigned', forge({ typ: 'dpop+jwt', alg: 'none', jwk: jwkOf(ec.publicKey) }, PAYLOAD), 'not a compact JWS'],
    ['alg none, with a signature', proof({ alg: 'none' }), 'algorithm not allowed'],
    ['HS256', proof({ alg: 'HS256' }, {}, Buffer.from(SECRET) as never), 'algorithm not allowed'],
    ['alg missing', proof({ alg: undefined }), 'algorithm not allowed'],
    ['header not JSON', `${Buffer.from('{').toString('base64url')}.e30.c2ln`, 'header is not JSON'],
    ['header an array', forge([{ typ: 'dpop+jwt' }], {}, ec.privateKey), 'header is not an object'],
    ['typ missing', proof({ typ: undefined }), 'typ is not dpop+jwt'],
    ['typ JWT', proof({ typ: 'JWT' }), 'typ is not dpop+jwt'],
    ['typ in capitals', proof({ typ: 'DPOP+JWT' }), 'typ is not dpop+jwt'],
    ['crit', proof({ crit: ['exp'] }), 'header crit not accepted'],
    ['jwk missing', proof({ jwk: undefined }), 'jwk missing'],
    ['jwk a string', proof({ jwk: 'key' }), 'jwk missing'],
    ['jwk with d (the private key)', proof({ jwk: ec.privateKey.export({ format: 'jwk' }) }), 'jwk is not a public key'],
    ['jwk of an RSA private key', proof({ alg: 'RS256', jwk: rsa.privateKey.export({ format: 'jwk' }) }, {}, rsa.privateKey), 'jwk is not a public key'],
    ['jwk a symmetric key', proof({ jwk: { kty: 'oct', k: SECRET } }), 'jwk is not a public key'],
    ['jwk of RSA, alg ES256', proof({ jwk: jwkOf(rsa.publicKey) }), 'jwk key type does not fit the alg'],
    ['jwk of EC, alg RS256', proof({ alg: 'RS256' }, {}, rsa.privateKey), 'jwk key type does not fit the alg'],
    ['jwk of Ed25519, alg ES256', proof({ jwk: jwkOf(ed.publicKey) }), 'jwk key type does not fit the alg'],
    ['jwk of P-384, alg ES256', proof({ jwk: jwkOf(p384.publicKey) }, {}, p384.privateKey), 'jwk key type does not fit the alg'],
    ['jwk alg another', proof({ jwk: { ...jwkOf(ec.publicKey), alg: 'ES384' } }), 'jwk alg does not match the header alg'],
    ['jwk not a key', proof({ jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } }), 'jwk is not a supported public key'],
    ['jwk of RSA 1024', proof({ alg: 'RS256', jwk: jwkOf(rsa1024.publicKey) }, {}, rsa1024.privateKey), 'jwk is not a supported public key'],
    ['jwk of secp256k1', proof({ jwk: jwkOf(k256.publicKey) }, {}, k256.privateKey), 'jwk is not a supported public key'],
    ['signed by another key', proof({}, {}, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), 'bad signature'],
    ['a signature cut short', proof().slice(0, -10), 'bad signature'],
    ['payload not JSON', forge({ typ: 'dpop+jwt', alg: 'ES256', jwk: jwkOf(ec.publicKey) }, '{', ec.privateKey), 'payload is not JSON'],
    ['payload a string', forge({ typ: 'dpop+jwt', alg: 'ES256', jwk: jwkOf(ec.publicKey) }, '"x"', ec.privateKey), 'payload is not an object']
  ]
  for (const [what, text, reason] of cases) t.equal(outcome(text), bad + reason, what)
  const withHs = { algorithms: new Set<Algorithm>(['HS256', 'ES256']) }
  t.equal(outcome(proof({ alg: 'HS256' }, {}, Buffer.from(SECRET) as never), {}, withHs), `${bad}algorithm not allowed`, 'HS256 even when listed')
  t.equal(outcome(proof(), {}, { algorithms: new Set<Algorithm>(['EdDSA']) }), `${bad}algorithm not allowed`, 'an algorithm the rules do not list')
  t.equal(outcome(proof({ kid: 'k', jwk: { ...jwkOf(ec.publicKey), alg: 'ES256', use: 'sig' } })), 'accepted', 'the control case, more members')
})

t.test('the payload: jti, htm, htu, iat', async (t) => {
  const at = (htu: string, uri = URI): string => outcome(proof({}, { htu }), { uri })
  const bad = 'invalid_dpop_proof: '
  t.equal(outcome(proof({}, { jti: undefined })), `${bad}jti missing or too long`)
  t.equal(outcome(proof({}, { jti: '' })), `${bad}jti missing or too long`)
  t.equal(outcome(proof({}, { jti: 7 })), `${bad}jti missing or too long`)
  t.equal(outcome(proof({}, { jti: 'j'.repeat(257) })), `${bad}jti missing or too long`)
  t.equal(outcome(proof({}, { jti: 'j'.repeat(256) })), 'accepted', '256 characters are enough')
  t.equal(outcome(proof({}, { htm: 'POST' })), `${bad}htm does not match the method`)
  t.equal(outcome(proof({}, { htm: 'get' })), `${bad}htm does not match the method`, 'compared exactly')
  t.equal(outcome(proof({}, { htm: undefined })), `${bad}htm does not match the method`)

  const htu = `${bad}htu does not match the URI`
  t.equal(at(`${URI}?page=2#top`), 'accepted', 'the query and fragment are not compared')
  t.equal(at(URI, `${URI}?page=2`), 'accepted', 'neither on the request')
  t.equal(at('HTTP://EXAMPLE.com:80/a', 'http://example.com/a'), 'accepted', 'scheme and host case, the default port')
  t.equal(at('https://api.test:443', 'https://api.test/'), 'accepted', 'an empty path is /')
  t.equal(at('https://api.test/a/../users'), 'accepted', 'dot segments')
  t.equal(at('https://api.test/Users'), htu, 'another path')
  t.equal(at('https://api.test/users/'), htu, 'a trailing slash')
  t.equal(at('https://other.test/users'), htu, 'another host')
  t.equal(at('http://api.test/users'), htu, 'another scheme')
  t.equal(at('https://api.test:8443/users'), htu, 'another port')
  t.equal(at('https://me@api.test/users'), htu, 'user information')
  t.equal(at('ftp://api.test/users', 'ftp://api.test/users?x'), htu, 'not http(s)')
  t.equal(at('not a URI'), htu)
  t.equal(outcome(proof({}, { htu: 1 })), htu)

  t.equal(outcome(proof({}, { iat: undefined })), `${bad}iat missing`)
  t.equal(outcome(proof({}, { iat: String(IAT) })), `${bad}iat missing`)
  t.equal(outcome(proof({}, { iat: IAT - 65 })), 'accepted', 'the proof lifetime and the tolerance')
  t.equal(outcome(proof({}, { iat: IAT - 65.5 })), `${bad}iat too old`)
  t.equal(outcome(proof({}, { iat: IAT - 3600 })), `${bad}iat too old`)
  t.equal(outcome(proof({}, { iat: IAT + 5 })), 'accepted', 'the tolerance ahead')
  t.equal(outcome(proof({}, { iat: IAT + 6 })), `${bad}iat in the future`)
  const late = verifyProof(proof({}, { iat: IAT - 65 }), EXPECT, RULES)
  t.equal(late.expiresAt, NOW + 1, 'remembered until just after the last millisecond it is accepted')
})

t.test('ath binds the proof to the access token; the nonce check decides use_dpop_nonce', async (t) => {
  const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl'
  const bad = 'invalid_dpop_proof: '
  t.equal(outcome(proof({}, { ath: sha256(token) }), { accessToken: token }), 'accepted')
  t.equal(outcome(proof(), { accessToken: token }), `${bad}ath missing`)
  t.equal(outcome(proof({}, { ath: sha256(`${token}x`) }), { accessToken: token }), `${bad}ath does not match the access token`)
  t.equal(outcome(proof({}, { ath: sha256(token).slice(1) }), { accessToken: token }), `${bad}ath does not match the access token`)
  t.equal(outcome(proof({}, { ath: 1 }), { accessToken: token }), `${bad}ath missing`)
  t.equal(outcome(proof({}, { ath: sha256('another') })), 'accepted', 'no token expected (the token endpoint): ath is not checked')

  const given: unknown[] = []
  const nonce = (value: string | undefined): boolean => {
    given.push(value)
    return value === 'n-1'
  }
  t.equal(outcome(proof({}, { nonce: 'n-1' }), { nonce }), 'accepted')
  t.equal(outcome(proof(), { nonce }), 'use_dpop_nonce: nonce missing')
  t.equal(outcome(proof({}, { nonce: 'n-0' }), { nonce }), 'use_dpop_nonce: nonce not current')
  t.same(given, ['n-1', undefined, 'n-0'], 'the check is given the proof nonce')
  t.equal(outcome(proof({}, { nonce: 1 }), { nonce }), `${bad}nonce is not a string`)
  t.equal(outcome(proof({}, { nonce: 'n-0' })), 'accepted', 'no nonce check: the nonce is not read')
  t.equal(outcome(proof({ typ: 'JWT' }), { nonce }), `${bad}typ is not dpop+jwt`, 'a proof at fault is not answered with a nonce')

  const err = (() => { try { verifyProof(proof(), { ...EXPECT, nonce }, RULES) } catch (e) { return e } })()
  t.ok(err instanceof errors.WARDEN_ERR_INVALID_DPOP_PROOF, 'an error of the list')
  t.match(err, { name: 'InvalidDpopProof', code: 'WARDEN_ERR_INVALID_DPOP_PROOF', statusCode: 401, message: 'nonce missing', error: 'use_dpop_nonce' })
})

t.test('the replay key: one per key and jti, whatever the jti', async (t) => {
  const jti = 'x'.repeat(256)
  const one = verifyProof(proof({}, { jti }), EXPECT, RULES)
  t.equal(verifyProof(proof({}, { jti, iat: IAT - 1 }), EXPECT, RULES).replayKey, one.replayKey, 'the same jti again: the same key')
  t.not(verifyProof(proof({}, { jti: `${jti.slice(1)}y` }), EXPECT, RULES).replayKey, one.replayKey)
  const other = verifyProof(proof({ alg: 'EdDSA', jwk: jwkOf(ed.publicKey) }, { jti }, ed.privateKey), EXPECT, RULES)
  t.not(other.replayKey, one.replayKey, "another client's key, the same jti: apart")
  t.match(one.replayKey, /^[\w-]{43}$/, 'fixed length')
})

t.test('imported keys are kept per header, a bounded number: a header seen again after a thousand others is checked anew', async (t) => {
  const first = proof({ kid: 'first' })
  t.equal(outcome(first), 'accepted')
  for (let i = 0; i < 1100; i++) verifyProof(proof({ kid: `k${i}` }), EXPECT, RULES)
  t.equal(outcome(first), 'accepted', 'still accepted')
  const otherSignature = proof({ kid: 'first' }, { jti: 'other' }).split('.')[2]
  t.equal(outcome(`${first.slice(0, first.lastIndexOf('.'))}.${otherSignature}`), 'invalid_dpop_proof: bad signature', 'and still checked')
})

t.test('dpopProofHeader: the one DPoP header, or a refusal', async (t) => {
  const text = proof()
  t.equal(dpopProofHeader({}), undefined, 'none')
  t.equal(dpopProofHeader({ dpop: text }), text)
  t.equal(dpopProofHeader({ dpop: [text] }), text)
  for (const dpop of [`${text}, ${text}`, `${text},${text}`, [text, text]]) {
    t.throws(() => dpopProofHeader({ dpop }), { code: 'WARDEN_ERR_INVALID_DPOP_PROOF', reason: 'more than one DPoP header' })
  }
  t.throws(() => dpopProofHeader({ dpop: '' }), { code: 'WARDEN_ERR_INVALID_DPOP_PROOF', reason: 'DPoP header is empty' })

  // Sent twice on the wire: Node joins them, and the join is refused.
  const app = Fastify()
  app.get('/p', async (request) => {
    try {
      return { proof: dpopProofHeader(request.headers) === text }
    } catch (err) {
      return { refused: (err as InvalidDpopProof).reason }
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const raw = async (lines: string[]): Promise<string> => await new Promise((resolve, reject) => {
    const socket = connect((app.server.address() as { port: number }).port, '127.0.0.1')
    let reply = ''
    socket.on('data', (chunk) => { reply += String(chunk) })
    socket.on('end', () => resolve(reply))
    socket.on('error', reject)
    socket.end(['GET /p HTTP/1.1', 'Host: api.test', 'Connection: close', ...lines, '', ''].join('\r\n'))
  })
  t.match(await raw([`DPoP: ${text}`]), /\{"proof":true\}$/)
  t.match(await raw([`DPoP: ${text}`, `dpop: ${text}`]), /\{"refused":"more than one DPoP header"\}$/)
})

t.test('requestUri: scheme, host and path as Fastify sees them, trustProxy applied, the query dropped', async (t) => {
  const appWith = (options: FastifyServerOptions = {}): FastifyInstance => {
    const app = Fastify(options)
    app.get('/a/b', async (request) => ({ uri: requestUri(request) }))
    return app
  }
  const uriOf = async (app: FastifyInstance, url: string, headers: Record<string, string> = {}): Promise<unknown> =>
    (await app.inject({ url, headers: { host: 'api.test', ...headers } })).json().uri
  const direct = appWith()
  t.equal(await uriOf(direct, '/a/b?x=1&y=2'), 'http://api.test/a/b')
  t.equal(await uriOf(direct, '/a/b', { host: 'api.test:8443' }), 'http://api.test:8443/a/b', 'the port the client named')
  t.equal(await uriOf(direct, '/a/b', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.test' }), 'http://api.test/a/b', 'no trusted proxy: ignored')
  const proxied = appWith({ trustProxy: true })
  t.equal(await uriOf(proxied, '/a/b?x', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.test' }), 'https://public.test/a/b', 'behind a trusted proxy')
  const rewritten = appWith({ rewriteUrl: (req) => (req.url ?? '/').replace(/^\/v1/, '') })
  t.equal(await uriOf(rewritten, '/v1/a/b?q'), 'http://api.test/v1/a/b', 'the path the client sent, before rewriteUrl')

  // All together: a proof for the URI a client requested, checked against the request.
  const app = Fastify()
  app.get('/users', async (request) => verifyProof(dpopProofHeader(request.headers) ?? '', { method: request.method, uri: requestUri(request) }, RULES).iat)
  const res = await app.inject({ url: '/users?page=2', headers: { host: 'api.test', 'x-forwarded-proto': 'https', dpop: proof({}, { htu: 'http://api.test/users' }) } })
  t.equal(res.body, String(IAT))
})
