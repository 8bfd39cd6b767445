import t from 'tap'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import Fastify from 'fastify'
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK, type JWTVerifyOptions } from 'jose'
import { warden, oauth2Bearer, type Algorithm } from '../../plugins/index.js'
import { schemesApp, NOW } from '../helpers/schemes.js'
import { SECRET, ISSUER, AUDIENCE } from '../helpers/keys.js'
import { forge, claims } from '../helpers/jwt.js'

/**
 * Why fastify-warden verifies tokens by hand (plugins/oauth2-bearer/verify.ts) rather than with a
 * library: one small, allocation-light path per request. The price is proof that it is at least as
 * strict as a reference verifier. panva/jose, given the same rules, is that reference: no token
 * that jose refuses may be accepted by the scheme. (The scheme may refuse more: it also requires
 * `jti`, bounds the token's size and refuses key-choosing headers.)
 */
const rules: JWTVerifyOptions = {
  algorithms: ['HS256'],
  typ: 'at+jwt',
  issuer: ISSUER,
  audience: AUDIENCE,
  requiredClaims: ['sub', 'exp', 'jti'],
  clockTolerance: 30,
  currentDate: new Date(NOW)
}
// The scheme keys HS256 with the secret's UTF-8 bytes; so does jose here.
const key = new Uint8Array(Buffer.from(SECRET))

/** Every header and claim the rules look at, each mutated in the ways that matter, plus the signature. */
function corpus (): Array<[string, string]> {
  const base = claims(NOW)
  const header = { alg: 'HS256', typ: 'at+jwt' }
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const values: unknown[] = [
    undefined,
    null,
    '',
    'x',
    0,
    -1,
    1.5,
    true,
    [],
    {},
    ['x'],
    'HS256',
    'none',
    'at+jwt',
    'JWT',
    ISSUER,
    AUDIENCE,
    [AUDIENCE],
    [AUDIENCE, 'other'],
    NOW / 1000,
    NOW / 1000 + 3600,
    NOW / 1000 - 3600,
    NOW / 1000 + 20,
    NOW / 1000 - 20,
    '1e10',
    2 ** 53,
    Number.MAX_VALUE
  ]
  const tokens: Array<[string, string]> = [['the valid token', forge(header, base, SECRET)]]
  for (const field of ['alg', 'typ', 'kid', 'crit', 'b64', 'jku']) {
    for (const value of values) tokens.push([`header ${field}=${JSON.stringify(value)}`, forge({ ...header, [field]: value }, base, SECRET)])
  }
  for (const field of ['iss', 'aud', 'sub', 'exp', 'nbf', 'iat', 'jti', 'scope']) {
    for (const value of values) tokens.push([`claim ${field}=${JSON.stringify(value)}`, forge(header, { ...base, [field]: value }, SECRET)])
  }
  tokens.push(['signed with another secret', forge(header, base, 'y'.repeat(32))])
  tokens.push(['HS256 keyed with an RSA public key', forge(header, base, rsa.publicKey.export({ type: 'spki', format: 'pem' }))])
  tokens.push(['RS256 signature', forge({ alg: 'RS256', typ: 'at+jwt' }, base, rsa.privateKey)])
  const valid = forge(header, base, SECRET)
  const [h, p, s] = valid.split('.')
  for (let i = 0; i < s.length; i += 7) {
    tokens.push([`signature character ${i} changed`, `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`])
  }
  tokens.push(['payload re-encoded with padding', `${h}.${p}=.${s}`], ['trailing dot', `${valid}.`], ['whitespace', ` ${valid}`])
  return tokens
}

t.test('differential against jose: every token the scheme accepts, jose accepts under the same rules', async (t) => {
  const { app } = await schemesApp()
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  await app.ready()
  const tokens = corpus()
  let agreedRefusals = 0
  let stricter = 0
  for (const [what, token] of tokens) {
    const ours = (await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode
    t.ok(ours === 200 || ours === 401, `${what}: a 200 or a 401, never a 5xx`)
    const theirs = await jwtVerify(token, key, rules).then(
      () => true,
      () => false
    )
    if (ours === 200) t.ok(theirs, `${what}: accepted by the scheme, so jose must accept it too`)
    else if (!theirs) agreedRefusals++
    else stricter++
  }
  t.ok(tokens.length > 350, `${tokens.length} tokens compared`)
  t.ok(agreedRefusals > 150, `${agreedRefusals} refused by both; ${stricter} refused by the scheme alone`)
  t.equal((await app.inject({ url: '/r', headers: { authorization: `Bearer ${tokens[0][1]}` } })).statusCode, 200, 'the control token is accepted')
})

/**
 * Several issuers: each token is checked by jose with the key set and rules of the issuer its
 * `iss` names (none for an issuer not allowed), and the scheme must decide the same, whichever
 * issuer's key signed it and whichever issuer's audience, algorithm and typ it carries.
 */
t.test('differential against jose, several issuers: the same decision as jose with the matching issuer\'s key set and rules', async (t) => {
  const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const [a1, a2, forged] = [ec(), ec(), ec()]
  const b1 = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const c1 = generateKeyPairSync('ed25519')
  const jwk = (pair: { publicKey: KeyObject }, kid: string, alg?: string): JWK =>
    ({ ...pair.publicKey.export({ format: 'jwk' }), kid, ...(alg === undefined ? {} : { alg }) })
  const issuers = [
    { issuer: 'https://a.example', keys: [jwk(a1, 'a1', 'ES256'), jwk(a2, 'a2', 'ES256')], audience: 'https://api.example' },
    {
      issuer: 'https://b.example', keys: [jwk(b1, 'b1')], audience: ['api-b'], algorithms: ['PS256', 'RS256'] as Algorithm[], tokenTypes: ['jwt'], requireJti: false
    },
    { issuer: 'urn:example:c', keys: [jwk(c1, 'c1', 'EdDSA')], audience: ['https://api.example', 'partner-api'] }
  ]
  const oracle = new Map(issuers.map((i) => [i.issuer, {
    keys: createLocalJWKSet({ keys: i.keys }),
    rules: {
      algorithms: i.algorithms ?? [i.keys[0].alg as string],
      typ: i.tokenTypes?.[0] ?? 'at+jwt',
      issuer: i.issuer,
      audience: i.audience,
      requiredClaims: ['sub', 'exp', ...(i.requireJti === false ? [] : ['jti'])],
      clockTolerance: 30,
      currentDate: new Date(NOW)
    } satisfies JWTVerifyOptions
  }]))
  const app = Fastify()
  await app.register(warden, { scopes: {} })
  await app.register(oauth2Bearer, { issuers, now: () => NOW })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  await app.ready()
  t.teardown(() => app.close())

  const signers: Array<[string, string, KeyObject]> = [
    ['a1', 'ES256', a1.privateKey], ['a2', 'ES256', a2.privateKey], ['a1', 'ES256', forged.privateKey],
    ['b1', 'PS256', b1.privateKey], ['b1', 'RS256', b1.privateKey], ['b1', 'RS384', b1.privateKey], ['c1', 'EdDSA', c1.privateKey]
  ]
  const tokens: Array<[string, string]> = []
  for (const [kid, alg, key] of signers) {
    for (const iss of [...oracle.keys(), 'https://evil.example', undefined]) {
      for (const aud of ['https://api.example', 'api-b', ['partner-api', 'x'], 'other']) {
        for (const typ of ['at+jwt', 'JWT']) {
          for (const jti of ['j1', undefined]) {
            const payload = { ...claims(NOW), iss, aud, jti }
            tokens.push([`${kid}/${alg} iss=${iss} aud=${JSON.stringify(aud)} typ=${typ} jti=${jti}`, forge({ alg, typ, kid }, payload, key)])
          }
        }
      }
    }
  }
  let accepted = 0
  for (const [what, token] of tokens) {
    const ours = (await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode
    const named = oracle.get(decodeJwt(token).iss ?? '')
    const theirs = named !== undefined && await jwtVerify(token, named.keys, named.rules).then(() => true, () => false)
    t.equal(ours, theirs ? 200 : 401, `${what}: ${theirs ? 'accepted' : 'refused'} by jose with the named issuer's keys`)
    if (theirs) accepted++
  }
  t.equal(tokens.length, 560, 'every signer, iss, aud, typ and jti combined')
  // A: a1, a2 for its audience; B: PS256 and RS256, jti or not; C: each of its audiences. None crossing issuers.
  t.equal(accepted, 8, 'accepted by both: each issuer\'s own tokens only')
})
