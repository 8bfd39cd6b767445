import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { jwtVerify, type JWTVerifyOptions } from 'jose'
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
