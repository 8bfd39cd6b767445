import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { createServer, type Server } from 'node:http'
import { createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import SwaggerParser from '@apidevtools/swagger-parser'
import type { OpenAPIV3_1 } from 'openapi-types'
import { warden, oauth2Bearer, openapi, InvalidToken, type IssuerOptions, type OAuth2BearerOptions } from '../../plugins/index.js'
import { forge } from '../helpers/jwt.js'
import { SCOPES, NOW } from '../helpers/schemes.js'
import { proofKey } from '../helpers/dpop.js'

// Three issuers, three key types, three policies: A (ES256, a JWKS URL, `scope`), B (PS256 only,
// a JWKS URL, typ JWT, no jti needed, roles mapped to scopes), C (EdDSA keys held locally, `scp`).
const A = 'https://a.example'
const B = 'https://b.example/tenant'
const C = 'urn:example:partner'
const keyA = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const keyB = generateKeyPairSync('rsa', { modulusLength: 2048 })
const keyC = generateKeyPairSync('ed25519')
const otherEd = generateKeyPairSync('ed25519')
const jwk = (key: KeyObject, kid: string, alg: string) => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' })
const ROLES: Record<string, string[]> = { reader: ['users:read'], operator: ['users:read', 'users:write'] }

/** A provider's JWKS endpoint on 127.0.0.1 that counts its fetches and can go down and come back on the same port. */
async function jwksServer (t: Test, keys: object[]) {
  const state = { fetches: 0 }
  const server: Server = createServer((_req, res) => {
    state.fetches++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const stop = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(async () => { if (server.listening) await stop() })
  return {
    state,
    url: `http://127.0.0.1:${port}/jwks`,
    stop,
    start: async () => await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  }
}

interface Fixture {
  app: FastifyInstance
  lines: Array<Record<string, unknown>>
  call: (token: string, url?: string, scheme?: string, headers?: Record<string, string>) => Promise<LightMyRequestResponse>
  tick: (ms: number) => void
  now: () => number
}

function issuers (urlA: string, urlB: string): IssuerOptions[] {
  return [
    { issuer: A, jwksUrl: urlA, audience: 'https://api.example' },
    {
      issuer: B,
      jwksUrl: urlB,
      audience: ['api-b'],
      algorithms: ['PS256'],
      tokenTypes: ['jwt'],
      requireJti: false,
      claimScopes: (claims) => (Array.isArray(claims.roles) ? claims.roles.flatMap((r) => ROLES[r as string] ?? []) : [])
    },
    { issuer: C, keys: [jwk(keyC.publicKey, 'c1', 'EdDSA')], audience: 'https://api.example' }
  ]
}

async function multiApp (t: Test, options: Partial<OAuth2BearerOptions> & { issuers: IssuerOptions[] }): Promise<Fixture> {
  let clock = NOW
  const now = () => clock
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  await app.register(warden, { scopes: SCOPES })
  await app.register(oauth2Bearer, { now, ...options } as OAuth2BearerOptions)
  const read = { schema: { security: [{ oauth2: ['users:read'] }] } }
  app.get('/read', read, async ({ auth }) => ({ iss: auth?.claims?.iss, scopes: auth?.scopes, user: auth?.user }))
  app.get('/write', { schema: { security: [{ oauth2: ['users:write'] }] } }, async (req) => req.auth?.subject)
  app.get('/mfa', { schema: { security: [{ oauth2: [] }], 'x-step-up': { acr_values: ['mfa'] } } }, async (req) => req.auth?.subject)
  await app.ready()
  t.teardown(() => app.close())
  return {
    app,
    lines,
    now,
    tick: (ms) => { clock += ms },
    call: async (token, url = '/read', scheme = 'Bearer', headers = {}) =>
      await app.inject({ url, headers: { authorization: `${scheme} ${token}`, ...headers } })
  }
}

/** A token of one issuer, signed with its key unless told otherwise. */
function token (now: number, issuer: string, extra: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key?: KeyObject): string {
  const iat = Math.floor(now / 1000)
  const base = { sub: 'user-1', iat, exp: iat + 600 }
  if (issuer === A) {
    const payload = { iss: A, aud: 'https://api.example', jti: 'ja', scope: 'users:read', ...base, ...extra }
    return forge({ alg: 'ES256', typ: 'at+jwt', kid: 'a1', ...header }, payload, key ?? keyA.privateKey)
  }
  if (issuer === B) {
    return forge({ alg: 'PS256', typ: 'JWT', kid: 'b1', ...header }, { iss: B, aud: 'api-b', roles: ['reader'], ...base, ...extra }, key ?? keyB.privateKey)
  }
  return forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'c1', ...header }, { iss: issuer, aud: 'https://api.example', jti: 'jc', scp: ['users:read', 'admin'], ...base, ...extra }, key ?? keyC.privateKey)
}

t.test('options: issuers is an allow-list of valid issuers, exclusive with the single-issuer key options, each error naming the option', async (t) => {
  const good: IssuerOptions = { issuer: A, jwksUrl: 'https://a.example/jwks', audience: 'api' }
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ issuers: [good], secret: randomBytes(32) }, 'WARDEN_ERR_OPTION', /option 'secret' cannot be combined with 'issuers'/],
    [{ issuers: [good], issuer: A }, 'WARDEN_ERR_OPTION', /option 'issuer' cannot be combined with 'issuers'/],
    [{ issuers: [good], jwksUrl: 'https://a.example/jwks' }, 'WARDEN_ERR_OPTION', /option 'jwksUrl' cannot be combined/],
    [{ issuers: [good], claimScopes: () => [] }, 'WARDEN_ERR_OPTION', /option 'claimScopes' cannot be combined/],
    [{ issuers: [] }, 'WARDEN_ERR_OPTION', /option 'issuers' must be a non-empty list/],
    [{ issuers: [{ issuer: A, audience: 'api' }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.jwksUrl' or 'issuers\[0\]\.discovery' or 'issuers\[0\]\.keys'/],
    [{ issuers: [{ ...good, keys: [keyC.publicKey] }] }, 'WARDEN_ERR_OPTION', /exactly one must be given/],
    [{ issuers: [good, { ...good, jwksUrl: 'https://b.example/jwks' }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[1\]\.issuer' 'https:\/\/a\.example' is given twice/],
    [{ issuers: [{ ...good, audience: undefined }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.audience'/],
    [{ issuers: [{ ...good, algorithms: ['none'] }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.algorithms' must be a non-empty list/],
    [{ issuers: [{ ...good, jwksUrl: 'http://a.example/jwks' }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.jwksUrl' must be https/],
    [{ issuers: [{ ...good, keySet: { cooldown: 1 } }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.keySet\.cooldown'/],
    [{ issuers: [{ ...good, claimScopes: 'roles' }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.claimScopes'/],
    [{ issuers: [{ ...good, tokenTypes: [1] }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.tokenTypes\[0\]'/],
    [{ issuers: [{ ...good, name: 'has space' }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.name' must be letters/],
    [{ issuers: [good, { ...good, issuer: B, documentation: { openIdConnectUrl: 'not a url' } }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[1\]\.documentation\.openIdConnectUrl'/],
    [{ issuers: [{ ...good, name: 'x' }, { issuer: B, keys: [keyC.publicKey], audience: 'api', name: 'x' }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[1\]\.name' 'x' names another issuer/],
    [{ issuers: [{ issuer: C, audience: 'api', keys: [] }] }, 'WARDEN_ERR_OPTION', /option 'issuers\[0\]\.keys' must be a non-empty list/],
    [{ issuers: [{ issuer: C, audience: 'api', keys: [createSecretKey(randomBytes(32))] }] }, 'WARDEN_ERR_KEY', /key 'issuers\[0\]\.keys\[0\]'/],
    [{ issuers: [{ issuer: C, audience: 'api', keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] }] }, 'WARDEN_ERR_KEY', /key 'issuers\[0\]\.keys\[0\]': is not a public key/],
    [{ issuers: [{ issuer: C, audience: 'api', keys: [jwk(keyC.publicKey, 'c1', 'EdDSA'), jwk(otherEd.publicKey, 'c1', 'EdDSA')] }] }, 'WARDEN_ERR_KEY', /kid 'c1' is used twice/],
    [{ issuers: [{ issuer: C, audience: 'api', keys: [jwk(keyA.publicKey, 'a1', 'EdDSA')] }] }, 'WARDEN_ERR_KEY', /cannot be used with EdDSA/]
  ]
  for (const [options, code, message] of cases) {
    const app = Fastify()
    await app.register(warden, { scopes: SCOPES })
    await t.rejects(async () => { await app.register(oauth2Bearer, options as unknown as OAuth2BearerOptions) }, { code, message }, message.source)
    await app.close()
  }
})

t.test('a scheme of several issuers is a resource server: sign() is refused with a code, no keys are published', async (t) => {
  const { app } = await multiApp(t, { issuers: [{ issuer: C, keys: [keyC.publicKey], audience: 'https://api.example' }] })
  t.throws(() => app.accessTokens.sign({ sub: 'u' }), { code: 'WARDEN_ERR_SIGN', message: /several issuers/ })
  t.same(app.accessTokens.jwks(), { keys: [] })
  t.equal(app.accessTokens.jwksPath, undefined)
  t.equal((await app.inject({ url: '/.well-known/jwks.json' })).statusCode, 404)
  // A KeyObject has no kid: as the issuer's only key it verifies the tokens that name none.
  const { call, now } = await multiApp(t, { issuers: [{ issuer: C, keys: [keyC.privateKey], audience: 'https://api.example' }] })
  t.equal((await call(token(now(), C, {}, { kid: undefined }))).statusCode, 200, 'a private KeyObject is taken for its public half')
})

t.test('each token is verified by the issuer it names, with that issuer\'s keys, audiences, algorithms, typ and scope mapping only', async (t) => {
  const a = await jwksServer(t, [jwk(keyA.publicKey, 'a1', 'ES256')])
  const b = await jwksServer(t, [jwk(keyB.publicKey, 'b1', 'PS256')])
  const { call, now } = await multiApp(t, { issuers: issuers(a.url, b.url) })
  const ok = async (tok: string, url = '/read') => { const res = await call(tok, url); return [res.statusCode, res.json()] as const }

  t.same(await ok(token(now(), A)), [200, { iss: A, scopes: ['users:read'] }], 'A: scope')
  t.same(await ok(token(now(), B)), [200, { iss: B, scopes: ['users:read'] }], 'B: roles mapped to scopes by B\'s claimScopes, no jti needed')
  t.same(await ok(token(now(), C)), [200, { iss: C, scopes: ['users:read', 'admin'] }], 'C: scp, with local keys')
  t.equal((await call(token(now(), B, { roles: ['operator'] }), '/write')).statusCode, 200, 'B\'s operator role grants users:write')
  t.equal((await call(token(now(), B), '/write')).statusCode, 403, 'B\'s reader role does not')

  const refused = async (tok: string, why: string) => {
    const res = await call(tok)
    t.equal(res.statusCode, 401, why)
    t.match(res.headers['www-authenticate'], /error="invalid_token"/, why)
  }
  // Each issuer's policy applies to its own tokens only.
  await refused(token(now(), A, { aud: 'api-b' }), 'B\'s audience is not A\'s')
  await refused(token(now(), B, { aud: 'https://api.example' }), 'A\'s audience is not B\'s')
  await refused(token(now(), A, {}, { typ: 'JWT' }), 'typ JWT is B\'s, not A\'s')
  await refused(token(now(), B, {}, { typ: 'at+jwt' }), 'B accepts only typ JWT')
  await refused(token(now(), A, { jti: undefined }), 'A needs a jti')
  await refused(token(now(), B, {}, { alg: 'RS256' }), 'B allows PS256 only, though its RSA key could verify RS256')
  // B's roles mean nothing for A's tokens; C's scp is read as the default reading does.
  t.equal((await call(token(now(), A, { scope: undefined, roles: ['operator'] }), '/write')).statusCode, 403, 'roles in A\'s token are no scopes')
  t.same(await ok(token(now(), C, { scp: undefined, scope: 'users:read' })), [200, { iss: C, scopes: ['users:read'] }])
})

t.test('an unknown or missing iss is invalid_token at no cost of a request; a token naming one issuer signed with another\'s key is refused', async (t) => {
  const a = await jwksServer(t, [jwk(keyA.publicKey, 'a1', 'ES256')])
  const b = await jwksServer(t, [jwk(keyB.publicKey, 'b1', 'PS256')])
  const { call, now, lines, tick } = await multiApp(t, { issuers: issuers(a.url, b.url), prefetch: false })
  t.equal((await call(token(now(), A))).statusCode, 200)
  t.equal((await call(token(now(), B))).statusCode, 200)
  t.same([a.state.fetches, b.state.fetches], [1, 1])
  tick(60_000)

  const unknown = [
    token(now(), A, { iss: 'https://evil.example' }, { kid: 'made-up' }),
    token(now(), A, { iss: undefined }, { kid: 'made-up' }),
    token(now(), A, { iss: ['https://a.example'] }, { kid: 'made-up' }),
    token(now(), A, { iss: 'https://a.example/' }, { kid: 'made-up' })
  ]
  for (const tok of unknown) {
    const res = await call(tok)
    t.equal(res.statusCode, 401)
    t.match(res.headers['www-authenticate'], /error="invalid_token"/)
  }
  t.same([a.state.fetches, b.state.fetches], [1, 1], 'no issuer\'s keys were fetched for a token of no allowed issuer')
  const failed = lines.filter((l) => l.event === 'auth.failed')
  t.equal(failed.length, unknown.length)
  t.ok(failed.every((l) => l.reason === 'claims' && l.sub === undefined), 'refused for its claims; nothing of an unverified token is logged as its subject')

  // The counter does count: A's own token with a new kid makes A fetch again (its cooldown passed).
  t.equal((await call(token(now(), A, {}, { kid: 'made-up' }))).statusCode, 401)
  t.same([a.state.fetches, b.state.fetches], [2, 1])
  tick(60_000)

  await t.test('crossing issuers', async (t) => {
    const cross = async (tok: string, why: string) => t.equal((await call(tok)).statusCode, 401, why)
    await cross(token(now(), A, {}, { alg: 'PS256', kid: 'b1' }, keyB.privateKey), 'iss A, signed by B with B\'s kid: A holds no such key')
    await cross(token(now(), B, { iss: A, aud: 'https://api.example', jti: 'x' }, { typ: 'at+jwt' }), 'B\'s token relabelled as A\'s')
    await cross(token(now(), C, {}, { alg: 'ES256', kid: 'c1' }, keyA.privateKey), 'iss C, signed by A with C\'s kid')
    await cross(token(now(), C, {}, {}, otherEd.privateKey), 'iss C, kid c1, signed with another Ed25519 key')
    await cross(token(now(), B, { iss: C }, { alg: 'PS256', kid: 'b1', typ: 'at+jwt' }), 'iss C signed with B\'s key')
    t.same([a.state.fetches, b.state.fetches], [3, 1], 'only A, for a kid it did not know; C\'s tokens cost no request at all')
  })
})

t.test('each issuer\'s outage is its own: 503 for its tokens only, the others keep working, and it recovers', async (t) => {
  const a = await jwksServer(t, [jwk(keyA.publicKey, 'a1', 'ES256')])
  const b = await jwksServer(t, [jwk(keyB.publicKey, 'b1', 'PS256')])
  const { call, now, tick } = await multiApp(t, { issuers: issuers(a.url, b.url), prefetch: false })
  t.equal((await call(token(now(), A))).statusCode, 200, 'A\'s keys fetched on its first token')

  await b.stop()
  const down = await call(token(now(), B))
  t.equal(down.statusCode, 503, 'B\'s keys cannot be fetched: its tokens get a 503')
  t.ok(down.headers['retry-after'], 'with Retry-After')
  t.equal(down.headers['www-authenticate'], undefined, 'the credential is not blamed')
  t.equal((await call(token(now(), A))).statusCode, 200, 'A keeps working')
  t.equal((await call(token(now(), C))).statusCode, 200, 'C keeps working')

  await b.start()
  t.equal((await call(token(now(), B))).statusCode, 503, 'within B\'s cooldown it is not asked again')
  tick(31_000)
  t.equal((await call(token(now(), B))).statusCode, 200, 'B is back: its tokens are accepted')

  await a.stop()
  tick(11 * 60_000)
  t.equal((await call(token(now(), A))).statusCode, 200, 'A down after its keys were fetched: the last good keys are kept')
  t.equal((await call(token(now(), B))).statusCode, 200)
})

t.test('prefetch: each provider\'s keys at start-up, a provider down logged with its issuer, or failing ready() when required', async (t) => {
  const a = await jwksServer(t, [jwk(keyA.publicKey, 'a1', 'ES256')])
  const b = await jwksServer(t, [jwk(keyB.publicKey, 'b1', 'PS256')])
  await multiApp(t, { issuers: issuers(a.url, b.url) })
  t.same([a.state.fetches, b.state.fetches], [1, 1], 'both fetched at onReady')
  await b.stop()
  const { lines, call, now } = await multiApp(t, { issuers: issuers(a.url, b.url) })
  t.match(lines.find((l) => l.msg === 'the provider\'s keys could not be fetched at start-up'), { issuer: B, scheme: 'oauth2' })
  t.equal((await call(token(now(), A))).statusCode, 200)
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(oauth2Bearer, { issuers: issuers(a.url, b.url), prefetch: 'required' })
  await t.rejects(async () => { await app.ready() }, /fetch failed/, 'B down and required')
  await app.close()
})

t.test('the cache, DPoP binding, step-up, isRevoked, resolveUser and accessTokens.verify() work across issuers', async (t) => {
  const a = await jwksServer(t, [jwk(keyA.publicKey, 'a1', 'ES256')])
  const b = await jwksServer(t, [jwk(keyB.publicKey, 'b1', 'PS256')])
  const revoked = new Set([`${B}|gone`])
  const seen: string[] = []
  const { app, call, now } = await multiApp(t, {
    issuers: issuers(a.url, b.url),
    cache: { max: 100 },
    dpop: true,
    isRevoked: (claims) => { seen.push(String(claims.iss)); return revoked.has(`${claims.iss}|${claims.sub}`) },
    resolveUser: (claims) => ({ id: `${claims.iss}#${claims.sub}` })
  })
  const tokB = token(now(), B)
  t.same((await call(tokB)).json(), { iss: B, scopes: ['users:read'], user: { id: `${B}#user-1` } })
  const fetched = b.state.fetches
  await b.stop()
  t.equal((await call(tokB)).statusCode, 200, 'the verified token is served from the cache')
  t.equal(b.state.fetches, fetched)
  t.equal((await call(token(now(), B, { sub: 'gone' }))).statusCode, 401, 'isRevoked refuses B\'s revoked subject (B\'s keys were kept)')
  t.equal((await call(token(now(), A, { sub: 'gone' }))).statusCode, 200, 'the same subject of A is not revoked')
  t.same(seen, [B, B, B, A], 'isRevoked called for every request, cached ones included')

  const key = await proofKey()
  const bound = token(now(), C, { cnf: { jkt: key.jkt } })
  const proof = await key.proof({ htm: 'GET', htu: 'http://localhost:80/read', token: bound, iat: Math.floor(now() / 1000) })
  const res = await call(bound, '/read', 'DPoP', { dpop: proof })
  t.equal(res.statusCode, 200, 'C\'s DPoP-bound token with its proof')
  t.equal((await call(bound)).statusCode, 401, 'and refused as a bearer token')

  const stepUp = await call(token(now(), A), '/mfa')
  t.equal(stepUp.statusCode, 401)
  t.match(stepUp.headers['www-authenticate'], /insufficient_user_authentication/)
  t.equal((await call(token(now(), A, { acr: 'mfa' }), '/mfa')).statusCode, 200)

  t.match(await app.accessTokens.verify(token(now(), C)), { iss: C, sub: 'user-1' })
  await t.rejects(app.accessTokens.verify(token(now(), 'https://evil.example')), new InvalidToken('iss', 'claims', undefined, 'iss'))
})

t.test('step-up per issuer: a partner\'s logins (stepUp: false) meet no step-up, whatever acr they claim; the others\' do', async (t) => {
  const local: IssuerOptions[] = [
    { issuer: A, keys: [jwk(keyA.publicKey, 'a1', 'ES256')], audience: 'https://api.example' },
    { issuer: C, keys: [jwk(keyC.publicKey, 'c1', 'EdDSA')], audience: 'https://api.example', stepUp: false }
  ]
  const { call, now, lines } = await multiApp(t, { issuers: local })
  t.equal((await call(token(now(), A, { acr: 'mfa' }), '/mfa')).statusCode, 200)
  const partner = await call(token(now(), C, { acr: 'mfa' }), '/mfa')
  t.equal(partner.statusCode, 401)
  t.match(partner.headers['www-authenticate'], /error="insufficient_user_authentication", error_description="A login at another identity provider is required\."/)
  t.match(lines.filter((l) => l.event === 'auth.step_up.required'), [{ scheme: 'oauth2', iss: C, reason: 'issuer' }])
  t.equal((await call(token(now(), C, { acr: 'mfa' }))).statusCode, 200, 'its tokens serve the routes that ask for no step-up')
  await t.rejects(
    multiApp(t, { issuers: [{ ...local[1], stepUp: 'no' as never }] }),
    { code: 'WARDEN_ERR_OPTION', message: "option 'issuers[0].stepUp' must be a boolean" }
  )
})

t.test('OpenAPI: one security scheme per issuer, each route requirement shown as one alternative per issuer; RFC 9728 names the URL issuers', async (t) => {
  const flows = (origin: string) => ({ authorizationCode: { authorizationUrl: `${origin}/authorize`, tokenUrl: `${origin}/token`, scopes: {} } })
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(openapi, { routePrefix: false })
  await app.register(oauth2Bearer, {
    issuers: [
      { issuer: A, jwksUrl: 'https://a.example/jwks', audience: 'api', documentation: { flows: flows(A) } },
      { issuer: B, jwksUrl: 'https://b.example/jwks', audience: 'api', documentation: { flows: flows(B) }, name: 'workforce' },
      { issuer: C, keys: [keyC.publicKey], audience: 'api' }
    ],
    prefetch: false,
    resourceMetadata: { resource: 'https://api.example' }
  })
  app.get('/read', { schema: { security: [{ oauth2: ['users:read'] }] } }, async () => 'ok')
  app.get('/maybe', { schema: { security: [{ oauth2: [] }, {}] } }, async () => 'ok')
  // A route's own swaggerTransform (or none, false) takes the plugin's place: the expansion follows it.
  const renamed = { swaggerTransform: ({ schema, url }: { schema: object, url: string }) => ({ schema: { ...schema, summary: 'renamed' }, url }) }
  app.get('/own', { schema: { security: [{ oauth2: ['users:read'] }] }, config: renamed }, async () => 'ok')
  app.get('/untransformed', { schema: { security: [{ oauth2: [] }] }, config: { swaggerTransform: false } }, async () => 'ok')
  await app.ready()
  t.teardown(() => app.close())
  const doc = app.swagger() as OpenAPIV3_1.Document
  await SwaggerParser.validate(structuredClone(doc) as never)
  const schemes = doc.components?.securitySchemes ?? {}
  t.same(Object.keys(schemes), ['oauth2.a.example', 'workforce', 'oauth2.urn_example_partner'], 'one per issuer, the scheme\'s own name not shown')
  t.match(schemes['oauth2.a.example'], { type: 'oauth2', flows: flows(A), 'x-issuer': A })
  t.match(schemes.workforce, { type: 'oauth2', flows: flows(B), 'x-issuer': B }, 'two authorization-code flows, each in its own scheme')
  t.match(schemes['oauth2.urn_example_partner'], { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', 'x-issuer': C })
  t.same(doc.paths?.['/read']?.get?.security, [
    { 'oauth2.a.example': ['users:read'] }, { workforce: ['users:read'] }, { 'oauth2.urn_example_partner': ['users:read'] }
  ])
  t.same(doc.paths?.['/maybe']?.get?.security, [{ 'oauth2.a.example': [] }, { workforce: [] }, { 'oauth2.urn_example_partner': [] }, {}])
  t.match(doc.paths?.['/own']?.get, { summary: 'renamed', security: doc.paths?.['/read']?.get?.security })
  t.equal(doc.paths?.['/untransformed']?.get?.security?.length, 3)
  const metadata = (await app.inject({ url: '/.well-known/oauth-protected-resource' })).json()
  t.same(metadata.authorization_servers, [A, B], 'every allowed issuer that is a URL')
})
