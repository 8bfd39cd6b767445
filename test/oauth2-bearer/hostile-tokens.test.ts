import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { schemesApp, NOW } from '../helpers/app.js'
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
  ['wrong issuer', forge(HS, { ...good, iss: 'https://evil.test' }, SECRET)],
  ['wrong audience', forge(HS, { ...good, aud: 'https://other.test' }, SECRET)],
  ['audience list without ours', forge(HS, { ...good, aud: ['https://other.test'] }, SECRET)],
  ['sub missing', forge(HS, { ...good, sub: undefined }, SECRET)],
  ['sub empty', forge(HS, { ...good, sub: '' }, SECRET)],
  ['jti missing', forge(HS, { ...good, jti: undefined }, SECRET)],
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
