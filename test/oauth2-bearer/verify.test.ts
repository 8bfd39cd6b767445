import t from 'tap'
import { createSecretKey } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { NOW } from '../helpers/schemes.js'
import { SECRET } from '../helpers/keys.js'
import { forge, claims } from '../helpers/jwt.js'
import { MAX_TOKEN_LENGTH, tokenVerifier, type ClaimRules } from '../../plugins/oauth2-bearer/verify.js'
import type { Algorithm, VerificationKey } from '../../plugins/oauth2-bearer/keys.js'

// The verifier on its own: each fault refused with the class the security event reports and the
// reason the first refusal's warning logs, so an operator reads what was wrong.
const HS = { alg: 'HS256', typ: 'at+jwt' }
const RULES: ClaimRules = { issuers: ['https://id.test'], audiences: ['https://api.test'], tokenTypes: ['at+jwt'], requireJti: true, clockTolerance: 30, now: () => NOW }
const KEY: VerificationKey = { kid: undefined, alg: 'HS256', key: createSecretKey(Buffer.from(SECRET)), algs: new Set<Algorithm>(['HS256']) }

function verifier (rules: Partial<ClaimRules> = {}, ownClaims?: { Check: (value: unknown) => boolean }) {
  return tokenVerifier({ ...RULES, ...rules }, new Set<Algorithm>(['HS256']), () => KEY, ownClaims)
}

/** What verifying `token` gives: the claims' sub, or the refusal's kind and reason. */
function outcome (verify: ReturnType<typeof verifier>, token: string): { sub?: unknown, kind?: unknown, reason?: unknown } {
  try {
    return { sub: (verify(token) as { sub?: unknown }).sub }
  } catch (err) {
    return { kind: (err as { kind?: unknown }).kind, reason: (err as Error).message }
  }
}

const good = claims(NOW)

t.test('each fault has its class and its reason', async (t) => {
  const verify = verifier()
  const cases: Array<[string, string, string, string]> = [
    ['junk before the token', `.${forge(HS, good, SECRET)}`, 'malformed', 'not a compact JWS'],
    ['a space before it', ` ${forge(HS, good, SECRET)}`, 'malformed', 'not a compact JWS'],
    ['header not JSON', `${Buffer.from('{').toString('base64url')}.e30.c2ln`, 'malformed', 'header is not JSON'],
    ['header an array', forge([HS], good, SECRET), 'malformed', 'header is not an object'],
    ['payload not JSON', forge(HS, '{', SECRET), 'malformed', 'payload is not JSON'],
    ['alg not allowed', forge({ ...HS, alg: 'RS256' }, good, SECRET), 'algorithm', 'algorithm not allowed'],
    ['alg not a string', forge({ ...HS, alg: 256 }, good, SECRET), 'algorithm', 'algorithm not allowed'],
    ['jku header', forge({ ...HS, jku: 'https://x' }, good, SECRET), 'malformed', 'header jku not accepted'],
    ['typ missing', forge({ alg: 'HS256' }, good, SECRET), 'malformed', 'typ not accepted'],
    ['typ a number', forge({ alg: 'HS256', typ: 1 }, good, SECRET), 'malformed', 'typ not accepted'],
    ['kid a number', forge({ ...HS, kid: 1 }, good, SECRET), 'malformed', 'kid is not a string'],
    ['bad signature', forge(HS, good, 'another secret of thirty-two bytes!'), 'signature', 'bad signature'],
    ['iss', forge(HS, { ...good, iss: 'https://evil.test' }, SECRET), 'claims', 'iss'],
    ['aud', forge(HS, { ...good, aud: 'https://other.test' }, SECRET), 'claims', 'aud'],
    ['sub', forge(HS, { ...good, sub: '' }, SECRET), 'claims', 'sub'],
    ['jti', forge(HS, { ...good, jti: '' }, SECRET), 'claims', 'jti'],
    ['exp missing', forge(HS, { ...good, exp: undefined }, SECRET), 'claims', 'exp missing'],
    ['expired', forge(HS, { ...good, exp: NOW / 1000 - 30 }, SECRET), 'expired', 'expired'],
    ['nbf', forge(HS, { ...good, nbf: NOW / 1000 + 31 }, SECRET), 'claims', 'nbf'],
    ['nbf not a number', forge(HS, { ...good, nbf: 'soon' }, SECRET), 'claims', 'nbf'],
    ['iat', forge(HS, { ...good, iat: NOW / 1000 + 31 }, SECRET), 'claims', 'iat'],
    ['iat not a number', forge(HS, { ...good, iat: 'now' }, SECRET), 'claims', 'iat'],
    ['scope', forge(HS, { ...good, scope: 7 }, SECRET), 'claims', 'scope']
  ]
  for (const [what, token, kind, reason] of cases) t.same(outcome(verify, token), { kind, reason }, what)
  t.same(outcome(verify, forge(HS, { ...good, nbf: NOW / 1000, iat: NOW / 1000 }, SECRET)), { sub: 'user-1' }, 'the control case, nbf and iat set')
  t.same(outcome(verify, forge(HS, { ...good, nbf: undefined, iat: undefined }, SECRET)), { sub: 'user-1' }, 'and without them')
})

t.test('the length limit is exact: MAX_TOKEN_LENGTH characters pass, one more does not', async (t) => {
  const verify = verifier()
  // A payload padded so that the whole token has exactly `length` characters.
  const sized = (length: number): string => {
    for (let pad = 0; pad < 10_000; pad++) {
      for (const sub of ['u', 'u1', 'u12']) {
        const token = forge(HS, { ...good, sub, pad: 'x'.repeat(pad) }, SECRET)
        if (token.length === length) return token
      }
    }
    throw new Error(`no token of ${length} characters`)
  }
  t.match(outcome(verify, sized(MAX_TOKEN_LENGTH)), { sub: String }, `${MAX_TOKEN_LENGTH} characters: verified`)
  t.same(outcome(verify, sized(MAX_TOKEN_LENGTH + 1)), { kind: 'malformed', reason: 'not a compact JWS' })
})

t.test('requireJti: false accepts a token without jti, never one with an empty jti; tokenTypes with null accepts one without typ', async (t) => {
  const lenient = verifier({ requireJti: false, tokenTypes: ['at+jwt', null] })
  t.same(outcome(lenient, forge(HS, { ...good, jti: undefined }, SECRET)), { sub: 'user-1' })
  t.same(outcome(lenient, forge(HS, { ...good, jti: '' }, SECRET)), { kind: 'claims', reason: 'jti' }, 'a jti that is there must be one')
  t.same(outcome(lenient, forge({ alg: 'HS256' }, good, SECRET)), { sub: 'user-1' }, 'no typ, accepted by null')
  t.same(outcome(lenient, forge({ alg: 'HS256', typ: 'JWT' }, good, SECRET)), { kind: 'malformed', reason: 'typ not accepted' }, 'null accepts none, not any')
})

t.test('the app\'s own claims schema is checked after the registered claims', async (t) => {
  const schema = TypeCompiler.Compile(Type.Object({ tenant_id: Type.String() }))
  const verify = verifier({}, schema)
  t.same(outcome(verify, forge(HS, { ...good, tenant_id: 't-1' }, SECRET)), { sub: 'user-1' })
  t.same(outcome(verify, forge(HS, { ...good, tenant_id: 7 }, SECRET)), { kind: 'claims', reason: 'claims do not fit the claims schema' })
})

t.test('an unknown key is its own class', async (t) => {
  const verify = tokenVerifier(RULES, new Set<Algorithm>(['HS256']), () => undefined, undefined)
  t.same(outcome(verify, forge(HS, good, SECRET)), { kind: 'unknown_key', reason: 'unknown key' })
})

t.test('the parsed-header cache keeps 64 headers, no more', async (t) => {
  const verify = tokenVerifier(RULES, new Set<Algorithm>(['HS256']), () => undefined, undefined)
  const tokens = Array.from({ length: 65 }, (_, i) => forge({ ...HS, kid: `k${i}` }, good, SECRET))
  for (const token of tokens) outcome(verify, token)
  const parse = JSON.parse
  let parsed = 0
  JSON.parse = (...args: Parameters<typeof JSON.parse>) => { parsed++; return parse(...args) }
  try {
    outcome(verify, tokens[63])
    t.equal(parsed, 0, 'the 64th header is cached')
    outcome(verify, tokens[64])
    t.equal(parsed, 1, 'the 65th is not')
  } finally {
    JSON.parse = parse
  }
})
