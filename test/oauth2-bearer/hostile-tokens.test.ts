import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { schemesApp, NOW } from '../helpers/schemes.js'
import { SECRET } from '../helpers/keys.js'
import { forge, claims } from '../helpers/jwt.js'

const HS = { alg: 'HS256', typ: 'at+jwt' }
const good = claims(NOW)
const valid = forge(HS, good, SECRET)
const [h, p, s] = valid.split('.')
const flip = (text: string): string => text.slice(0, -2) + (text.at(-2) === 'A' ? 'B' : 'A') + text.at(-1)
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' })

// Each of these must be a 401 invalid_token with the generic body: never a 2xx, never a 5xx.
const hostile: Array<[string, string]> = [
  ['empty token', ''],
  ['one segment', 'abc'],
  ['two segments', `${h}.${p}`],
  ['four segments', `${valid}.xyz`],
  ['empty signature', `${h}.${p}.`],
  ['alg none, unsigned', forge({ alg: 'none', typ: 'at+jwt' }, good)],
  ['alg none with a signature', forge({ alg: 'none', typ: 'at+jwt' }, good, SECRET)],
  ['alg None (case)', forge({ alg: 'None', typ: 'at+jwt' }, good, SECRET)],
  ['alg HS512 (not allowed)', forge({ alg: 'HS512', typ: 'at+jwt' }, good, SECRET)],
  ['alg missing', forge({ typ: 'at+jwt' }, good, SECRET)],
  ['wrong secret', forge(HS, good, 'x'.repeat(32))],
  ['typ missing', forge({ alg: 'HS256' }, good, SECRET)],
  ['typ JWT (an ID token, not an access token)', forge({ alg: 'HS256', typ: 'JWT' }, good, SECRET)],
  ['jku header', forge({ ...HS, jku: 'http://127.0.0.1:1/jwks' }, good, SECRET)],
  ['embedded jwk header', forge({ ...HS, jwk: { kty: 'oct', k: 'AAAA' } }, good, SECRET)],
  ['x5u header', forge({ ...HS, x5u: 'http://127.0.0.1:1/cert' }, good, SECRET)],
  ['crit header', forge({ ...HS, crit: ['exp'] }, good, SECRET)],
  ['x5c header', forge({ ...HS, x5c: ['MIIB'] }, good, SECRET)],
  ['zip header', forge({ ...HS, zip: 'DEF' }, good, SECRET)],
  ['enc header (a JWE pretending)', forge({ ...HS, enc: 'A256GCM' }, good, SECRET)],
  ['b64 header', forge({ ...HS, b64: false }, good, SECRET)],
  ['typ not a string', forge({ alg: 'HS256', typ: 1 }, good, SECRET)],
  ['kid not a string', forge({ ...HS, kid: 7 }, good, SECRET)],
  ['header not JSON', `${Buffer.from('{alg:HS256').toString('base64url')}.${p}.${s}`],
  ['header is an array', forge([HS], good, SECRET)],
  ['payload not JSON', forge(HS, 'not json', SECRET)],
  ['payload is null', forge(HS, null, SECRET)],
  ['payload is an array', forge(HS, [good], SECRET)],
  ['signature tampered', `${h}.${p}.${flip(s)}`],
  ['payload tampered (scope escalation)', `${h}.${Buffer.from(JSON.stringify({ ...good, scope: 'admin' })).toString('base64url')}.${s}`],
  ['expired', forge(HS, { ...good, exp: NOW / 1000 - 31 }, SECRET)],
  ['not yet valid (nbf)', forge(HS, { ...good, nbf: NOW / 1000 + 61 }, SECRET)],
  ['issued in the future (iat)', forge(HS, { ...good, iat: NOW / 1000 + 120 }, SECRET)],
  ['exp missing', forge(HS, { ...good, exp: undefined }, SECRET)],
  ['exp a string', forge(HS, { ...good, exp: String(NOW / 1000 + 900) }, SECRET)],
  ['exp 1e999 (Infinity once parsed)', forge(HS, '{"iss":"https://id.test","aud":"https://api.test","sub":"user-1","jti":"jti-1","exp":1e999,"scope":"users:read"}', SECRET)],
  ['nbf a string', forge(HS, { ...good, nbf: '0' }, SECRET)],
  ['iat a string', forge(HS, { ...good, iat: '0' }, SECRET)],
  ['iss a list', forge(HS, { ...good, iss: ['https://id.test'] }, SECRET)],
  ['aud neither a string nor a list', forge(HS, { ...good, aud: { url: 'https://api.test' } }, SECRET)],
  ['wrong issuer', forge(HS, { ...good, iss: 'https://evil.test' }, SECRET)],
  ['wrong audience', forge(HS, { ...good, aud: 'https://other.test' }, SECRET)],
  ['audience list without ours', forge(HS, { ...good, aud: ['https://other.test'] }, SECRET)],
  ['sub missing', forge(HS, { ...good, sub: undefined }, SECRET)],
  ['sub empty', forge(HS, { ...good, sub: '' }, SECRET)],
  ['jti missing', forge(HS, { ...good, jti: undefined }, SECRET)],
  ['jti empty', forge(HS, { ...good, jti: '' }, SECRET)],
  ['jti a number', forge(HS, { ...good, jti: 7 }, SECRET)],
  ['scope a list mixing strings and numbers', forge(HS, { ...good, scope: ['users:read', 1] }, SECRET)],
  ['scope neither a string nor a list of strings', forge(HS, { ...good, scope: [1, { admin: true }] }, SECRET)],
  ['RS256 token (algorithm not configured)', forge({ alg: 'RS256', typ: 'at+jwt' }, good, rsa.privateKey)],
  ['HS256 signed with an RSA public key as secret (key confusion)', forge(HS, good, rsaPublicPem)],
  ['base64 (not base64url) characters', `${h}.${p}.${s}+/=`],
  ['NUL byte inside', `${h}.${p}\u0000.${s}`],
  ['too long', `${h}.${Buffer.from(JSON.stringify({ ...good, pad: 'x'.repeat(9000) })).toString('base64url')}.${s}`],
  ['unicode in the token', `${h}.${p}.${s}é`]
]

t.test('a well-formed token is admitted (the control case)', async (t) => {
  const { app } = await schemesApp()
  app.get('/r', { schema: { security: [{ oauth2: ['users:read'] }] } }, async (req) => req.auth)
  t.equal((await app.inject({ url: '/r', headers: { authorization: `Bearer ${valid}` } })).statusCode, 200)
  t.equal((await app.inject({ url: '/r', headers: { authorization: `bearer ${valid}` } })).statusCode, 200, 'the scheme name is case-insensitive')
})

t.test(`${hostile.length} malformed or hostile tokens are each a generic 401 invalid_token`, async (t) => {
  const { app } = await schemesApp()
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  await app.ready()
  for (const [name, token] of hostile) {
    const res = await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401, name)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"', name)
    t.same(res.json(), { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'The credentials presented are invalid or have expired.' }, name)
  }
})

t.test('other Authorization schemes are not bearer credentials', async (t) => {
  const { app } = await schemesApp()
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  for (const authorization of ['Token abc', 'Bearerabc', 'Bearer', 'Digest username="a"']) {
    const res = await app.inject({ url: '/r', headers: { authorization } })
    t.equal(res.statusCode, 401, authorization)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"', `${authorization}: no credential for this scheme`)
  }
})

t.test('a token in the query string is not read (RFC 6750 §2.3 is not supported on purpose)', async (t) => {
  const { app } = await schemesApp()
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  const res = await app.inject({ url: `/r?access_token=${valid}` })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('edges that must hold: a token at exactly the length limit, an aud list naming us, a scope list, the clock tolerance', async (t) => {
  const { MAX_TOKEN_LENGTH } = await import('../../plugins/oauth2-bearer/verify.js')
  const { app } = await schemesApp()
  app.get('/r', { schema: { security: [{ oauth2: ['users:read'] }] } }, async (req) => req.auth)
  const status = async (token: string) => (await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode
  const sized = (length: number): string => {
    // Pad the payload until the whole token has exactly `length` characters.
    for (let pad = 0; ; pad++) {
      const token = forge(HS, { ...good, pad: 'x'.repeat(pad) }, SECRET)
      if (token.length >= length) return token
    }
  }
  const atLimit = sized(MAX_TOKEN_LENGTH - 2)
  t.ok(atLimit.length <= MAX_TOKEN_LENGTH, `${atLimit.length} characters`)
  t.equal(await status(atLimit), 200, 'at the limit (or just under): admitted')
  t.equal(await status(sized(MAX_TOKEN_LENGTH + 1)), 401, 'one past it: refused')
  t.equal(await status(forge(HS, { ...good, aud: ['https://other.test', 'https://api.test'] }, SECRET)), 200, 'an aud list that names us')
  t.equal(await status(forge(HS, { ...good, scope: ['users:read'] }, SECRET)), 200, 'a scope list of strings (some providers)')
  t.equal(await status(forge(HS, { ...good, exp: NOW / 1000 - 29 }, SECRET)), 200, 'expired 29 s ago: within the 30 s tolerance')
  t.equal(await status(forge(HS, { ...good, exp: NOW / 1000 - 30 }, SECRET)), 401, 'expired 30 s ago: not')
  t.equal(await status(forge(HS, { ...good, nbf: NOW / 1000 + 30 }, SECRET)), 200, 'valid in 30 s: within the tolerance')
  t.equal(await status(forge(HS, { ...good, nbf: NOW / 1000 + 31 }, SECRET)), 401)
  t.equal(await status(forge(HS, { ...good, iat: NOW / 1000 + 30 }, SECRET)), 200, 'issued 30 s ahead: within the tolerance')
  t.equal(await status(forge(HS, { ...good, iat: NOW / 1000 + 31 }, SECRET)), 401)
  t.equal(await status(forge({ alg: 'HS256', typ: 'AT+JWT' }, good, SECRET)), 200, 'typ is compared without case')
})

t.test('the parsed-header cache is bounded: made-up headers cannot grow it', async (t) => {
  const { tokenVerifier } = await import('../../plugins/oauth2-bearer/verify.js')
  const verify = tokenVerifier(
    { issuers: ['https://id.test'], audiences: ['https://api.test'], tokenTypes: ['at+jwt'], requireJti: true, clockTolerance: 30, now: () => NOW },
    new Set(['HS256']),
    () => undefined,
    undefined
  )
  const kindOf = (token: string): unknown => { try { verify(token); return 'accepted' } catch (err) { return (err as { kind?: unknown }).kind } }
  const tokens = Array.from({ length: 100 }, (_, i) => forge({ ...HS, kid: `k${i}` }, good, SECRET))
  for (const token of tokens) t.equal(kindOf(token), 'unknown_key')
  // Header parses are JSON.parse calls: count them for a header seen among the first 64 and one seen after.
  const parse = JSON.parse
  let parsed = 0
  JSON.parse = (...args: Parameters<typeof JSON.parse>) => { parsed++; return parse(...args) }
  try {
    kindOf(tokens[1])
    t.equal(parsed, 0, 'one of the first 64 headers comes from the cache')
    kindOf(tokens[99])
    t.equal(parsed, 1, 'the 100th was never kept: parsed again')
  } finally {
    JSON.parse = parse
  }
})
